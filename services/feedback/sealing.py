"""How an event leaves the feedback service: the latest version of its kind, a person's words sealed with their
client's data key for the event's own id (docs/privacy.md), and never for an erased client.

Sealing is deterministic (the same words of the same event id seal to the same value), so an event whose id is
fixed before it is sealed (derived from an ``Idempotency-Key``, a link or a ticket) is the same event however
often a request is retried.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.feedback.erasure import ClientErased, PurgeClient, refuse_erased
from shared.contracts import CloudEvent, EventKind
from shared.privacy.plumbing import Privacy
from shared.privacy.words import words_in

# The data of any client event, in any version: a pydantic model with a ``client_id``.
ClientData = Any


def has_words(kind: EventKind[Any], data: ClientData) -> bool:
    """Whether ``data`` holds any words at the places ``kind`` keeps them."""
    return bool(words_in(data, kind.words))


# A batch brings many clients' words: their data keys are fetched (or created) side by side.
KEYS_AT_ONCE = 32


@dataclass(frozen=True)
class Outgoing:
    """What the intake hands Kafka."""

    privacy: Privacy
    purge_client: PurgeClient

    async def event(
        self,
        kind: EventKind[Any],
        data: ClientData,
        *,
        clinic_id: str,
        source: str,
        event_id: str,
        time: datetime | None = None,
    ) -> CloudEvent[Any]:
        """``data`` (any version of ``kind``, words in the clear) as the event ``event_id`` (of CloudEvents
        ``time``, now if not given), its words sealed; ClientErased if the client was erased."""
        client_id = data.client_id
        refuse_erased(self.privacy, clinic_id, client_id)
        sealed = await self.privacy.words.sealed(kind, clinic_id, client_id, event_id, data)
        if self.privacy.erased.contains(clinic_id, client_id):
            # Erased while the data key was fetched: the key may have been created after the purge shredded it.
            await self.purge_client(clinic_id, client_id)
            raise ClientErased(client_id)
        return kind.envelope(
            sealed, clinic_id=clinic_id, client_id=client_id, source=source, event_id=event_id, time=time
        )

    async def fetch_keys(self, clinic_id: str, items: Sequence[tuple[EventKind[Any], ClientData]]) -> None:
        """Fetch (or create) at once the data keys of the clients of ``items`` whose kind carries words, so that
        sealing them one by one afterwards finds every key at hand."""
        erased = self.privacy.erased
        wanted = {data.client_id for kind, data in items if has_words(kind, data)}
        clients = sorted(client for client in wanted if not erased.contains(clinic_id, client))
        for start in range(0, len(clients), KEYS_AT_ONCE):
            chunk = clients[start : start + KEYS_AT_ONCE]
            await asyncio.gather(*(self.privacy.keys.key_for(clinic_id, client) for client in chunk))
