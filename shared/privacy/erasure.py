"""Every service's view of erased clients, kept in step with the compacted ``client.erased`` topic.

At start-up a service reads the topic to its end before it reports ready, so a restarted service never applies
an erased client's event; from then on it follows the topic from its beginning at every start
(shared/messaging/compacted.py), adding each erasure and running the service's purge of that client. Purges
are idempotent, so re-reading the topic is harmless. Events of an erased client that arrive later (a slow
producer, a replay) are dropped and counted.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker
from prometheus_client import Counter

from shared.contracts import CLIENT_ERASED, ClientErasedV1, CloudEvent
from shared.messaging import publish_event
from shared.messaging.compacted import follow_all, read_all

ERASED_EVENTS_DROPPED = Counter(
    "alliance_erased_client_events_dropped_total",
    "Events of an erased client that arrived after the erasure and were dropped.",
    ["service"],
)
Purge = Callable[[CloudEvent[ClientErasedV1]], Awaitable[None]]


class ErasedClients:
    """The erased clients, by clinic and pseudonym (held in memory only: MongoDB keeps just salted hashes)."""

    def __init__(self) -> None:
        self._erased: set[tuple[str, str]] = set()

    def add(self, clinic_id: str, client_id: str) -> None:
        self._erased.add((clinic_id, client_id))

    def contains(self, clinic_id: str, client_id: str) -> bool:
        return (clinic_id, client_id) in self._erased

    @property
    def count(self) -> int:
        # Not ``__len__``: an empty set of erasures would be falsy, and ``erased or ErasedClients()`` would then
        # silently replace the service's shared instance with a new one.
        return len(self._erased)


def erasure_event(clinic_id: str, client_id: str, by: str, at: datetime | None = None) -> CloudEvent[Any]:
    data = ClientErasedV1(client_id=client_id, erased_at=at or datetime.now(UTC), by=by)
    return CLIENT_ERASED.envelope(
        data, clinic_id=clinic_id, client_id=client_id, source="/services/scoring/erasure"
    )


async def publish_erasure(broker: KafkaBroker, event: CloudEvent[Any]) -> None:
    await publish_event(broker, CLIENT_ERASED, event)


def follow_erasures(broker: KafkaBroker, erased: ErasedClients, purge: Purge | None = None) -> None:
    """Add every erasure to ``erased`` and run ``purge`` for it, from the topic's beginning."""

    async def apply(event: CloudEvent[ClientErasedV1]) -> None:
        erased.add(event.clinicid, event.data.client_id)
        if purge is not None:
            await purge(event)

    follow_all(broker, CLIENT_ERASED, apply)


async def catch_up(erased: ErasedClients, bootstrap: str, within: float = 30.0) -> int:
    """Read every erasure up to the topic's current end into ``erased``; returns how many were read."""
    return await read_all(
        bootstrap, CLIENT_ERASED, lambda event: erased.add(event.clinicid, event.data.client_id), within
    )
