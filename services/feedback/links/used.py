"""The durable single-use record of feedback links (collection ``feedback_links_used``, owned by feedback).

A submission first claims the link (unique ``_id`` = link id: of two concurrent submits one wins), publishes,
and marks it used only after Kafka acknowledged; if Kafka failed, the claim is released so the client can try
again. A claim left by a crash is taken over after a while; the event id is derived from the link id, so even
a publish repeated after such a crash is the same event, which consumers deduplicate.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

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

    async def check_unused(self, link: FeedbackLink) -> None:
        found = await self.collection.find_one({"_id": link.link_id, "state": "used"})
        if found is not None:
            raise LinkUsed

    async def claim(self, link: FeedbackLink) -> None:
        now = datetime.now(UTC)
        try:
            await self.collection.insert_one(
                {"_id": link.link_id, "state": "submitting", "claimed_at": now, "expires_at": link.expires_at}
            )
            return
        except DuplicateKeyError:
            pass
        taken_over = await self.collection.update_one(
            {"_id": link.link_id, "state": "submitting", "claimed_at": {"$lt": now - ABANDONED_AFTER}},
            {"$set": {"claimed_at": now}},
        )
        if taken_over.modified_count == 1:
            return
        await self.check_unused(link)
        raise LinkBusy

    async def mark_used(self, link: FeedbackLink, event_id: str) -> None:
        await self.collection.update_one(
            {"_id": link.link_id},
            {"$set": {"state": "used", "used_at": datetime.now(UTC), "event_id": event_id}},
        )

    async def release(self, link: FeedbackLink) -> None:
        await self.collection.delete_one({"_id": link.link_id, "state": "submitting"})
