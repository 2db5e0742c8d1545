"""The transactional outbox: events caused by a state change are stored with it, then relayed to Kafka.

A handler stages its events in the same MongoDB transaction as the state change. The relay publishes pending
events in the order they were staged and marks each published after Kafka acknowledged it. A crash between
the two publishes the event again with the same deterministic id, which consumers deduplicate: nothing is
lost and nothing is invented.
"""

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from faststream.kafka import KafkaBroker
from prometheus_client import Gauge
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from shared import tracing
from shared.contracts import CloudEvent, EventKind
from shared.contracts.binding import structured_headers, to_record
from shared.messaging.loop import WakeableLoop
from shared.topics import message_key

log = logging.getLogger("alliance.outbox")

OUTBOX_BACKLOG = Gauge("alliance_outbox_backlog", "Events staged but not yet relayed to Kafka.", ["service"])
KEEP_PUBLISHED = timedelta(days=7)
Document = dict[str, Any]


class Outbox:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("published_at", ASCENDING), ("order", ASCENDING)])
        await self.collection.create_index(
            "published_at", expireAfterSeconds=int(KEEP_PUBLISHED.total_seconds()), name="expire_published"
        )

    async def stage(
        self,
        session: AsyncClientSession,
        events: list[tuple[EventKind[Any], CloudEvent[Any]]],
        traces: Mapping[str, tracing.Carrier | None] | None = None,
    ) -> None:
        """Stage ``events`` in the transaction of ``session``. Each is published on the trace its cause is on:
        ``traces`` by event id (a batch of causes), or else the current one."""
        if not events:
            return
        current = tracing.carrier() if traces is None else None
        await self.collection.insert_many(
            [
                {
                    "_id": event.id,
                    "order": ObjectId(),
                    "topic": kind.topic.name,
                    "key": record.key,
                    "value": record.value,
                    "published_at": None,
                    "trace": current if traces is None else traces.get(event.id),
                }
                for kind, event in events
                for record in [to_record(event)]
            ],
            session=session,
        )

    async def forget_client(
        self, clinic_id: str, client_id: str, session: AsyncClientSession | None = None
    ) -> int:
        """Delete every event staged about the client, relayed or not (an erased client): each is keyed by its
        subject, ``clinic_id:client_id``. Returns how many."""
        result = await self.collection.delete_many(
            {"key": message_key(clinic_id, client_id)}, session=session
        )
        return result.deleted_count

    async def pending(self, limit: int = 500) -> list[Document]:
        cursor = self.collection.find({"published_at": None}).sort("order", ASCENDING).limit(limit)
        return await cursor.to_list()

    async def mark_published(self, event_ids: list[str]) -> None:
        await self.collection.update_many(
            {"_id": {"$in": event_ids}}, {"$set": {"published_at": datetime.now(UTC)}}
        )


class OutboxRelay(WakeableLoop):
    """Moves staged events to Kafka; woken after each commit, and polling as a safety net."""

    def __init__(self, outbox: Outbox, broker: KafkaBroker, service: str, poll_seconds: float = 1.0) -> None:
        super().__init__(f"{service}-outbox-relay", poll_seconds)
        self._outbox = outbox
        self._broker = broker
        self._service = service

    async def run(self) -> None:
        await self.run_steps(self.relay_pending)

    async def relay_pending(self) -> int:
        """Publish every pending event; returns how many were relayed."""
        relayed = 0
        while batch := await self._outbox.pending():
            OUTBOX_BACKLOG.labels(self._service).set(len(batch))
            # Send the whole batch, then wait for every acknowledgement: the idempotent producer keeps the
            # order within a partition, and one round trip serves many events.
            confirmations = []
            for document in batch:
                with tracing.continued(document.get("trace")):  # a child of the span of its cause
                    confirmations.append(
                        await self._broker.publish(
                            document["value"],
                            topic=document["topic"],
                            key=document["key"],
                            headers=structured_headers(document["_id"]),
                            no_confirm=True,
                        )
                    )
            await asyncio.gather(*confirmations)
            await self._outbox.mark_published([document["_id"] for document in batch])
            relayed += len(batch)
        OUTBOX_BACKLOG.labels(self._service).set(0)
        return relayed
