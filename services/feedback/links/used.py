"""The durable single-use record of feedback links (collection ``feedback_links_used``, owned by feedback).

A submission first claims the link (unique ``_id`` = link id: of two concurrent submits one wins), publishes,
and marks it used only after Kafka acknowledged; if Kafka failed, the claim is released so the client can try
again. A claim left by a crash is taken over after a while. The event id is derived from the link id, and the
submission's moment (its ``submitted_at`` and CloudEvents ``time``) is the first claim's, kept when a claim is
released or taken over: a publish repeated after a failure or a crash is the very same event, which consumers
deduplicate. A record names its clinic and client, so that an erasure of the client removes it.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.feedback.idempotency import moment_now
from services.feedback.links.tokens import FeedbackLink

Document = dict[str, Any]
ABANDONED_AFTER = timedelta(seconds=30)


class LinkUsed(Exception):
    pass


class LinkBusy(Exception):
    """Another submit of the same link is being processed right now."""


class UsedLinks:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        # Once the link itself has expired its record can go: the signature check refuses it anyway.
        await self.collection.create_index("expires_at", expireAfterSeconds=0, name="expire_with_link")
        await self.collection.create_index([("clinic_id", 1), ("client_id", 1)], name="by_client")

    async def check_unused(self, link: FeedbackLink) -> None:
        found = await self.collection.find_one({"_id": link.link_id, "state": "used"})
        if found is not None:
            raise LinkUsed

    async def claim(self, link: FeedbackLink) -> datetime:
        """The moment of the link's submission (its first claim's); LinkUsed or LinkBusy if it is not free."""
        now = moment_now()
        try:
            await self.collection.insert_one(
                {
                    "_id": link.link_id,
                    "clinic_id": link.clinic_id,
                    "client_id": link.client_id,
                    "state": "submitting",
                    "claimed_at": now,
                    "moment": now,
                    "expires_at": link.expires_at,
                }
            )
            return now
        except DuplicateKeyError:
            pass
        taken_over = await self.collection.find_one_and_update(
            {
                "_id": link.link_id,
                "$or": [
                    {"state": "released"},
                    {"state": "submitting", "claimed_at": {"$lt": now - ABANDONED_AFTER}},
                ],
            },
            {"$set": {"state": "submitting", "claimed_at": now}},
        )
        if taken_over is not None:
            moment: datetime = taken_over.get("moment") or now
            return moment
        await self.check_unused(link)
        raise LinkBusy

    async def mark_used(self, link: FeedbackLink, event_id: str) -> None:
        await self.collection.update_one(
            {"_id": link.link_id},
            {"$set": {"state": "used", "used_at": datetime.now(UTC), "event_id": event_id}},
        )

    async def release(self, link: FeedbackLink) -> None:
        """Nothing was stored: the link is free again, and the next submit keeps this one's moment."""
        await self.collection.update_one(
            {"_id": link.link_id, "state": "submitting"}, {"$set": {"state": "released"}}
        )

    async def drop(self, link: FeedbackLink) -> None:
        """Delete an unfinished claim (its client was erased: nothing of theirs is kept)."""
        await self.collection.delete_one({"_id": link.link_id, "state": {"$ne": "used"}})

    async def forget_client(self, clinic_id: str, client_id: str) -> None:
        """Delete the records of every link of the client (an erasure)."""
        await self.collection.delete_many({"clinic_id": clinic_id, "client_id": client_id})
