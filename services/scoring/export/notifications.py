"""The notifications sent about each client (collection ``scoring_notifications``), for the client's export.

Notify announces each delivery on ``notification.sent`` (pseudonymous ids only: no address, no words). Scoring
keeps them in a consumer group of their own, so a backlog of notifications never holds up scoring's rules.
One document a delivery, keyed by the event's id (derived from the delivery by notify), so a redelivered
event changes nothing. The erasure purge removes a client's documents (``clinic_id``, ``client_id``); an
erased client's events that arrive later are dropped and counted.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.scoring.settings import ScoringSettings
from shared.contracts import NOTIFICATION_SENT, CloudEvent, ContractViolation, NotificationSentV1
from shared.messaging import subscribe_batch
from shared.privacy.erasure import ERASED_EVENTS_DROPPED
from shared.privacy.plumbing import Privacy

Document = dict[str, Any]
NOTIFICATIONS = "scoring_notifications"


class NotificationLog:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("clinic_id", ASCENDING), ("client_id", ASCENDING)])

    async def record(self, events: Sequence[CloudEvent[NotificationSentV1]]) -> None:
        """Keep each event once: a redelivered one (the same id) is left as it was first stored."""
        if events:
            await self.collection.bulk_write(
                [UpdateOne({"_id": e.id}, {"$setOnInsert": _document(e)}, upsert=True) for e in events],
                ordered=False,
            )

    async def of_client(self, clinic_id: str, client_id: str) -> list[tuple[str, NotificationSentV1]]:
        """The client's notifications as (event id, data), in the order they were sent."""
        cursor = self.collection.find({"clinic_id": clinic_id, "client_id": client_id})
        found = [(d["_id"], d["sent_at"], NotificationSentV1.model_validate(d["data"])) async for d in cursor]
        return [(event_id, data) for event_id, _, data in sorted(found, key=lambda f: (f[1], f[0]))]


def _document(event: CloudEvent[NotificationSentV1]) -> Document:
    return {
        "clinic_id": event.clinicid,
        "client_id": event.data.client_id,
        # The data as JSON keeps its times exact (a BSON date keeps milliseconds); the date orders them.
        "data": event.data.model_dump(mode="json"),
        "sent_at": event.data.sent_at.astimezone(UTC),
        "recorded_at": datetime.now(UTC),
    }


def follow_notifications(
    broker: KafkaBroker, db: AsyncDatabase[Document], privacy: Privacy, settings: ScoringSettings
) -> NotificationLog:
    """Subscribe to ``notification.sent`` in scoring's notifications group; the log it fills."""
    log = NotificationLog(db[NOTIFICATIONS])
    instance_id = f"{settings.instance_id}.notifications" if settings.instance_id else None

    @subscribe_batch(
        broker,
        (NOTIFICATION_SENT,),
        f"{settings.group_id}.notifications",
        max_records=settings.batch_max_records,
        instance_id=instance_id,
    )
    async def on_notification_sent(events: Sequence[CloudEvent[Any]]) -> dict[int, ContractViolation]:
        kept = []
        for event in events:
            if privacy.erased.contains(event.clinicid, event.data.client_id):
                ERASED_EVENTS_DROPPED.labels("scoring").inc()  # arrived after the client was erased
                continue
            kept.append(event)
        await log.record(kept)
        return {}

    return log
