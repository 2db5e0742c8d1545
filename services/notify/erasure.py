"""notify's part of erasing a client (docs/privacy.md): what it holds of them is purged, and what arrives for
them later is dropped.

notify holds a client in its delivery intents (alerts and client page links: pending, sent or failed), their
dead letters, the episodes (the latest alert, the escalation timer, the acknowledgement) and the outbox (audit
and acknowledgement events). The purge deletes every one of them. It is idempotent and runs again for every
erasure at every start (the follower re-reads the compacted ``client.erased`` from its beginning); its steps
delete the delivery intents last, because they name the ruptures by which older episodes are found, so a purge
cut off half-way is finished by the next one.

Work that slips past the purge (an alert recorded in the very moment of the erasure) meets the check again:
every consumer drops an erased client's events, counted; an intake purges once more if the client was erased
while it recorded; the delivery worker and the escalation look before they send.
"""

import logging
from typing import Any, Protocol

from services.notify.deliveries import DeliveryStore
from services.notify.episodes import EpisodeStore
from shared.contracts import ClientErasedV1, CloudEvent
from shared.messaging import Outbox
from shared.privacy.erasure import ERASED_EVENTS_DROPPED, ErasedClients

log = logging.getLogger("alliance.notify.erasure")
SERVICE = "notify"


class ClientPurge:
    """Deletes everything notify holds of one client."""

    def __init__(self, deliveries: DeliveryStore, episodes: EpisodeStore, outbox: Outbox) -> None:
        self._deliveries = deliveries
        self._episodes = episodes
        self._outbox = outbox

    async def ensure_indexes(self) -> None:
        await self._deliveries.ensure_client_indexes()
        await self._episodes.ensure_client_indexes()
        await self._outbox.collection.create_index("key")

    async def purge(self, clinic_id: str, client_id: str) -> int:
        """Delete the client's documents; returns how many were deleted (0 when there were none left)."""
        rupture_ids = await self._deliveries.rupture_ids_of(clinic_id, client_id)
        deleted = await self._deliveries.purge_dead_letters(clinic_id, client_id)
        # Unrelayed events about the client are never published, relayed ones lose their copy.
        deleted += await self._outbox.forget_client(clinic_id, client_id)
        deleted += await self._episodes.purge_client(clinic_id, client_id, rupture_ids)
        deleted += await self._deliveries.purge_client(clinic_id, client_id)
        return deleted


class Purge(Protocol):
    async def purge(self, clinic_id: str, client_id: str) -> int: ...


class Erasures:
    """The erased clients as notify's consumers, worker and acknowledgements meet them."""

    def __init__(self, erased: ErasedClients, purge: Purge) -> None:
        self._erased = erased
        self._purge = purge

    def contains(self, clinic_id: str, client_id: str | None) -> bool:
        return client_id is not None and self._erased.contains(clinic_id, client_id)

    def drop(self, clinic_id: str, client_id: str) -> bool:
        """True (and counted) for an event of an erased client: the caller applies nothing of it, and does not
        dead-letter it either (it is a good event, only too late)."""
        if not self._erased.contains(clinic_id, client_id):
            return False
        ERASED_EVENTS_DROPPED.labels(SERVICE).inc()
        return True

    async def purge(self, event: CloudEvent[ClientErasedV1]) -> None:
        """The follower's purge, for every erasure on ``client.erased``."""
        deleted = await self._purge.purge(event.clinicid, event.data.client_id)
        if deleted:  # the clinic only: never the client's pseudonym in a log line
            log.info("erased client purged", extra={"clinic_id": event.clinicid, "documents": deleted})

    async def settle(self, clinic_id: str, client_id: str) -> bool:
        """After recording something of a client: True, and purged again, if they were erased meanwhile (the
        follower's purge may have run just before the record was committed)."""
        if not self._erased.contains(clinic_id, client_id):
            return False
        await self._purge.purge(clinic_id, client_id)
        return True

    async def drop_work(self, clinic_id: str, client_id: str, about: dict[str, Any]) -> bool:
        """True when queued work (a delivery, an escalation) belongs to an erased client: it is purged, never
        sent."""
        if not self._erased.contains(clinic_id, client_id):
            return False
        await self._purge.purge(clinic_id, client_id)
        log.info("work of an erased client dropped", extra={"clinic_id": clinic_id, **about})
        return True
