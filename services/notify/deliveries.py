"""Durable record of every alert delivery, so one alert is sent once per recipient channel.

The intent is recorded before sending and marked sent after. A crash in between leaves it pending, and the
redelivered event sends it again with the same id, which the receiver can deduplicate.
"""

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

Document = dict[str, Any]


class Deliveries:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._deliveries = collection

    async def intend(self, delivery_id: str, clinic_id: str, channel: str) -> bool:
        """Record the intent; returns False when this delivery was already sent."""
        await self._deliveries.update_one(
            {"_id": delivery_id},
            {
                "$setOnInsert": {
                    "clinic_id": clinic_id,
                    "channel": channel,
                    "status": "pending",
                    "created_at": datetime.now(UTC),
                    "attempts": 0,
                }
            },
            upsert=True,
        )
        stored = await self._deliveries.find_one({"_id": delivery_id}, {"status": 1})
        return stored is not None and stored["status"] != "sent"

    async def attempted(self, delivery_id: str) -> None:
        await self._deliveries.update_one({"_id": delivery_id}, {"$inc": {"attempts": 1}})

    async def sent(self, delivery_id: str) -> None:
        await self._deliveries.update_one(
            {"_id": delivery_id}, {"$set": {"status": "sent", "sent_at": datetime.now(UTC)}}
        )
