"""Idempotency-Key: a retried request gets the first answer again and causes no second event.

The first request with a key claims it in MongoDB (a unique ``_id`` per clinic and key, so of two concurrent
duplicates exactly one wins), does its work, then stores its answer. A duplicate replays that answer, or gets
409 while the first is still running. A 503 stores nothing and releases the claim, so the retry really
retries; its events get the same deterministic ids as the first attempt's, should any of those have reached
Kafka after all. Keys are scoped to the clinic: another clinic's identical key is a different key.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Header
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.contracts import derived_event_id

Document = dict[str, Any]
# A claim older than this belongs to a request that died mid-way; a retry may take it over.
ABANDONED_AFTER = timedelta(seconds=30)

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9._:-]{1,128}$",
        description="Optional. A retry with the same key gets the first answer and causes no second event.",
        examples=["9f0c1f5e-7a51-4b7e-9d0e-2a57e1b0c6d4"],
    ),
]


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: Any


class KeyInProgress(Exception):
    """The first request with this key has not answered yet."""


class KeyReused(Exception):
    """The key was first used for a different request."""


@dataclass(frozen=True)
class EventIds:
    """Event ids for one request: derived from the idempotency key when there is one, so retries match."""

    clinic_id: str
    idempotency_key: str | None

    def for_item(self, index: int = 0) -> str:
        if self.idempotency_key is None:
            return str(uuid.uuid4())
        return derived_event_id("http-intake", self.clinic_id, self.idempotency_key, str(index))


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\x1f".join([method.encode(), path.encode(), body])).hexdigest()


class IdempotencyStore:
    def __init__(self, collection: AsyncCollection[Document], keep: timedelta) -> None:
        self.collection = collection
        self.keep = keep

    async def ensure_indexes(self) -> None:
        await self.collection.create_index(
            "claimed_at", expireAfterSeconds=int(self.keep.total_seconds()), name="expire_claims"
        )

    async def claim(self, clinic_id: str, key: str, request_fingerprint: str) -> StoredAnswer | None:
        """None when this request now owns the key; the stored answer when it was answered before."""
        now = datetime.now(UTC)
        document_id = {"clinic": clinic_id, "key": key}
        try:
            await self.collection.insert_one(
                {"_id": document_id, "fingerprint": request_fingerprint, "claimed_at": now, "answer": None}
            )
            return None
        except DuplicateKeyError:
            existing = await self.collection.find_one({"_id": document_id})
        if existing is None:  # expired between the two calls: try once more
            return await self.claim(clinic_id, key, request_fingerprint)
        if existing["fingerprint"] != request_fingerprint:
            raise KeyReused
        if existing["answer"] is not None:
            return StoredAnswer(existing["answer"]["status_code"], existing["answer"]["body"])
        taken_over = await self.collection.find_one_and_update(
            {"_id": document_id, "answer": None, "claimed_at": {"$lt": now - ABANDONED_AFTER}},
            {"$set": {"claimed_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        if taken_over is None:
            raise KeyInProgress
        return None

    async def complete(self, clinic_id: str, key: str, answer: StoredAnswer) -> None:
        await self.collection.update_one(
            {"_id": {"clinic": clinic_id, "key": key}},
            {"$set": {"answer": {"status_code": answer.status_code, "body": answer.body}}},
        )

    async def release(self, clinic_id: str, key: str) -> None:
        await self.collection.delete_one({"_id": {"clinic": clinic_id, "key": key}, "answer": None})
