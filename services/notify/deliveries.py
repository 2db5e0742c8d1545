"""Durable delivery intents in MongoDB: recorded before anything is sent, claimed by a worker, marked after.

Lifecycle: ``pending`` (due at ``due_at``) -> claimed (a worker pushed ``due_at`` one lease ahead and counted
the attempt) -> ``sent`` or back to ``pending`` with a backoff, or ``failed`` after the last attempt. A worker
that dies mid-send leaves the claim to expire, so another worker sends again with the same delivery id.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from services.notify.alert import Delivery, Recipient
from services.notify.planning import PlannedDelivery
from shared.contracts import RuptureSuspectedV3

Document = dict[str, Any]


class DeliveryStore:
    def __init__(
        self, deliveries: AsyncCollection[Document], dead_letters: AsyncCollection[Document]
    ) -> None:
        self._deliveries = deliveries
        self._dead_letters = dead_letters

    async def ensure_indexes(self) -> None:
        await self._deliveries.create_index([("status", ASCENDING), ("due_at", ASCENDING)])

    async def record(
        self,
        session: AsyncClientSession,
        clinic_id: str,
        event_id: str,
        rupture: RuptureSuspectedV3,
        planned: Iterable[PlannedDelivery],
        now: datetime,
        raised_at: datetime | None = None,
    ) -> int:
        """Record intents that do not exist yet; returns how many were new. ``raised_at`` is when the
        rating that raised the alert reached the platform (the event's time), for the latency metric."""
        writes = [
            UpdateOne(
                {"_id": p.delivery_id},
                {
                    "$setOnInsert": {
                        "clinic_id": clinic_id,
                        "event_id": event_id,
                        "raised_at": raised_at,
                        "rupture_id": rupture.rupture_id,
                        "severity": rupture.severity.value,
                        "reason": p.reason,
                        "recipient": p.recipient.to_document(),
                        "rupture": rupture.model_dump(mode="json"),
                        "status": "pending",
                        "due_at": p.due_at,
                        "attempts": 0,
                        "created_at": now,
                    }
                },
                upsert=True,
            )
            for p in planned
        ]
        if not writes:
            return 0
        result = await self._deliveries.bulk_write(writes, session=session, ordered=False)
        return result.upserted_count

    async def claim_due(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[Delivery]:
        claimed: list[Delivery] = []
        while len(claimed) < limit:
            document = await self._deliveries.find_one_and_update(
                {"status": "pending", "due_at": {"$lte": now}},
                {"$set": {"due_at": now + lease, "claimed_by": owner}, "$inc": {"attempts": 1}},
                sort=[("due_at", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )
            if document is None:
                break
            claimed.append(_delivery(document))
        return claimed

    async def mark_sent(
        self, session: AsyncClientSession, delivery: Delivery, owner: str, now: datetime
    ) -> bool:
        """False when the claim was lost meanwhile (another worker owns the delivery now)."""
        result = await self._deliveries.update_one(
            {"_id": delivery.delivery_id, "status": "pending", "claimed_by": owner},
            {"$set": {"status": "sent", "sent_at": now, "claimed_by": None}},
            session=session,
        )
        return result.modified_count == 1

    async def retry_at(self, delivery: Delivery, owner: str, due_at: datetime, error: str) -> None:
        await self._deliveries.update_one(
            {"_id": delivery.delivery_id, "status": "pending", "claimed_by": owner},
            {"$set": {"due_at": due_at, "claimed_by": None, "last_error": error}},
        )

    async def mark_failed(
        self, session: AsyncClientSession, delivery: Delivery, owner: str, now: datetime, error: str
    ) -> bool:
        result = await self._deliveries.update_one(
            {"_id": delivery.delivery_id, "status": "pending", "claimed_by": owner},
            {"$set": {"status": "failed", "failed_at": now, "claimed_by": None, "last_error": error}},
            session=session,
        )
        if result.modified_count != 1:
            return False
        await self._dead_letters.insert_one(
            {
                "_id": delivery.delivery_id,
                "clinic_id": delivery.clinic_id,
                "rupture_id": delivery.rupture.rupture_id,
                "channel": delivery.recipient.channel,
                "recipient_kind": delivery.recipient.kind,
                "attempts": delivery.attempts,
                "error": error,
                "failed_at": now,
            },
            session=session,
        )
        return True

    async def release(self, owner: str, now: datetime) -> None:
        """On a clean shutdown: hand unfinished claims back at once instead of waiting for the lease."""
        await self._deliveries.update_many(
            {"status": "pending", "claimed_by": owner}, {"$set": {"due_at": now, "claimed_by": None}}
        )

    async def find(self, query: Document) -> list[Document]:
        return await self._deliveries.find(query).to_list()


def _delivery(document: Document) -> Delivery:
    return Delivery(
        delivery_id=document["_id"],
        clinic_id=document["clinic_id"],
        reason=document["reason"],
        recipient=Recipient.from_document(document["recipient"]),
        rupture=RuptureSuspectedV3.model_validate(document["rupture"]),
        attempts=document["attempts"],
        event_id=document["event_id"],
        raised_at=document.get("raised_at"),
    )
