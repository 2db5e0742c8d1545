"""Durable delivery intents in MongoDB: recorded before anything is sent, claimed by a worker, marked after.

Lifecycle: ``pending`` (due at ``due_at``) -> claimed (a worker pushed ``due_at`` one lease ahead and counted
the attempt) -> ``sent`` or back to ``pending`` with a backoff, or ``failed`` after the last attempt. A worker
that dies mid-send leaves the claim to expire, so another worker sends again with the same delivery id.

Two kinds share that lifecycle (``kind``): alerts (``alert``; intents recorded before kinds existed carry none)
and client page links (``client_page``). A link's URL is a credential: it is dropped from the intent once the
delivery is settled, sent or failed.

Every intent and dead letter names its client (``client_id``; alert intents recorded before that only in their
``rupture``), so that an erased client's are found and purged.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from services.notify.alert import Delivery, Recipient
from services.notify.client_pages import ClientPageDelivery
from services.notify.planning import PlannedDelivery
from shared.contracts import RuptureSuspectedV4
from shared.tracing import Carrier

Document = dict[str, Any]
# What the worker sends: an alert to one recipient's channel, or a client page link to the clinic's system.
Outgoing = Delivery | ClientPageDelivery
# Removed from an intent once it is settled: nothing needs the link any more, and a stored link opens a page.
SETTLED = {"page_url": ""}


class DeliveryStore:
    def __init__(
        self, deliveries: AsyncCollection[Document], dead_letters: AsyncCollection[Document]
    ) -> None:
        self._deliveries = deliveries
        self._dead_letters = dead_letters

    async def ensure_indexes(self) -> None:
        await self._deliveries.create_index([("status", ASCENDING), ("due_at", ASCENDING)])

    async def ensure_client_indexes(self) -> None:
        """For the purge of an erased client, which runs for every erasure at every start."""
        for field in ("client_id", "rupture.client_id"):
            await self._deliveries.create_index([("clinic_id", ASCENDING), (field, ASCENDING)])
        await self._dead_letters.create_index([("clinic_id", ASCENDING), ("client_id", ASCENDING)])

    async def record(
        self,
        session: AsyncClientSession,
        clinic_id: str,
        event_id: str,
        rupture: RuptureSuspectedV4,
        planned: Iterable[PlannedDelivery],
        now: datetime,
        raised_at: datetime | None = None,
        trace: Carrier | None = None,
    ) -> int:
        """Record intents that do not exist yet; returns how many were new. ``raised_at`` is when the
        rating that raised the alert reached the platform (the event's time), for the latency metric;
        ``trace`` the trace the event came on, which the sending continues."""
        writes = [
            UpdateOne(
                {"_id": p.delivery_id},
                {
                    "$setOnInsert": {
                        "kind": "alert",
                        "clinic_id": clinic_id,
                        "client_id": rupture.client_id,
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
                        "trace": trace,
                    }
                },
                upsert=True,
            )
            for p in planned
        ]
        return await self._insert_new(writes, session)

    async def record_client_pages(
        self, links: Iterable[ClientPageDelivery], now: datetime, session: AsyncClientSession | None = None
    ) -> int:
        """Record link intents that do not exist yet (by delivery id); returns how many were new. A link
        minted again for a redelivered note is dropped here: the first one stays the one sent."""
        writes = [
            UpdateOne(
                {"_id": link.delivery_id},
                {
                    "$setOnInsert": {
                        "kind": "client_page",
                        "clinic_id": link.clinic_id,
                        "event_id": link.event_id,
                        "client_id": link.client_id,
                        "note_id": link.note_id,
                        "session_id": link.session_id,
                        "webhook_url": link.webhook_url,
                        "page_url": link.page_url,
                        "expires_at": link.expires_at,
                        "status": "pending",
                        "due_at": now,
                        "attempts": 0,
                        "created_at": now,
                        "trace": link.trace,
                    }
                },
                upsert=True,
            )
            for link in links
        ]
        return await self._insert_new(writes, session)

    async def _insert_new(self, writes: list[UpdateOne], session: AsyncClientSession | None) -> int:
        if not writes:
            return 0
        result = await self._deliveries.bulk_write(writes, session=session, ordered=False)
        return result.upserted_count

    async def claim_due(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[Outgoing]:
        claimed: list[Outgoing] = []
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
        self, session: AsyncClientSession, delivery: Outgoing, owner: str, now: datetime
    ) -> bool:
        """False when the claim was lost meanwhile (another worker owns the delivery now)."""
        result = await self._deliveries.update_one(
            {"_id": delivery.delivery_id, "status": "pending", "claimed_by": owner},
            {"$set": {"status": "sent", "sent_at": now, "claimed_by": None}, "$unset": SETTLED},
            session=session,
        )
        return result.modified_count == 1

    async def retry_at(self, delivery: Outgoing, owner: str, due_at: datetime, error: str) -> None:
        await self._deliveries.update_one(
            {"_id": delivery.delivery_id, "status": "pending", "claimed_by": owner},
            {"$set": {"due_at": due_at, "claimed_by": None, "last_error": error}},
        )

    async def mark_failed(
        self, session: AsyncClientSession, delivery: Outgoing, owner: str, now: datetime, error: str
    ) -> bool:
        result = await self._deliveries.update_one(
            {"_id": delivery.delivery_id, "status": "pending", "claimed_by": owner},
            {
                "$set": {"status": "failed", "failed_at": now, "claimed_by": None, "last_error": error},
                "$unset": SETTLED,
            },
            session=session,
        )
        if result.modified_count != 1:
            return False
        about = (
            {
                "kind": "client_page",
                "client_id": delivery.client_id,
                "note_id": delivery.note_id,
                "channel": "webhook",
            }
            if isinstance(delivery, ClientPageDelivery)
            else {
                "kind": "alert",
                "client_id": delivery.rupture.client_id,
                "rupture_id": delivery.rupture.rupture_id,
                "channel": delivery.recipient.channel,
                "recipient_kind": delivery.recipient.kind,
            }
        )
        await self._dead_letters.insert_one(
            {
                "_id": delivery.delivery_id,
                "clinic_id": delivery.clinic_id,
                **about,
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

    async def rupture_ids_of(self, clinic_id: str, client_id: str) -> list[str]:
        """The episodes the client's alert intents are about."""
        found: list[str] = await self._deliveries.distinct("rupture_id", _of_client(clinic_id, client_id))
        return found

    async def purge_dead_letters(self, clinic_id: str, client_id: str) -> int:
        """Delete the dead letters of the client's deliveries (older ones name only their delivery)."""
        delivery_ids = await self._deliveries.distinct("_id", _of_client(clinic_id, client_id))
        result = await self._dead_letters.delete_many(
            {"$or": [{"_id": {"$in": delivery_ids}}, {"clinic_id": clinic_id, "client_id": client_id}]}
        )
        return result.deleted_count

    async def purge_client(self, clinic_id: str, client_id: str) -> int:
        """Delete every intent of the client, whatever its state: nothing of theirs is sent any more."""
        result = await self._deliveries.delete_many(_of_client(clinic_id, client_id))
        return result.deleted_count


def _of_client(clinic_id: str, client_id: str) -> Document:
    return {"clinic_id": clinic_id, "$or": [{"client_id": client_id}, {"rupture.client_id": client_id}]}


def _delivery(document: Document) -> Outgoing:
    if document.get("kind") == "client_page":
        return ClientPageDelivery(
            delivery_id=document["_id"],
            clinic_id=document["clinic_id"],
            client_id=document["client_id"],
            note_id=document["note_id"],
            session_id=document["session_id"],
            webhook_url=document["webhook_url"],
            page_url=document["page_url"],
            expires_at=document["expires_at"],
            attempts=document["attempts"],
            event_id=document["event_id"],
            trace=document.get("trace"),
        )
    return Delivery(
        delivery_id=document["_id"],
        clinic_id=document["clinic_id"],
        reason=document["reason"],
        recipient=Recipient.from_document(document["recipient"]),
        rupture=RuptureSuspectedV4.model_validate(document["rupture"]),
        attempts=document["attempts"],
        event_id=document["event_id"],
        raised_at=document.get("raised_at"),
        trace=document.get("trace"),
    )
