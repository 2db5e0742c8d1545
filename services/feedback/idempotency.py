"""Idempotency-Key: a retried request gets the first answer again and causes no second event.

The first request with a key claims it in MongoDB (a unique ``_id`` per clinic and key, so of two concurrent
duplicates exactly one wins), does its work, then stores its answer. A duplicate replays that answer, or gets
409 while the first is still running. A 503 stores no answer and releases the claim, so the retry really
retries; should any of the first attempt's events have reached Kafka after all (an acknowledgement lost), the
retry's are the very same events: the same deterministic ids, the same moment (the first attempt's, kept in the
released claim: the time the server sets where the caller gave none, and each event's CloudEvents ``time``) and,
sealing being deterministic, the same sealed words. Keys are scoped to the clinic: another clinic's identical
key is a different key.

A record holds the clients its request named (so an erasure finds and removes it), a fingerprint of the
request, and the answer (event ids, never a person's words). The fingerprint is an HMAC under a key derived from
the deployment's key-encryption keys, not a plain hash: a plain SHA-256 of a body would let anyone who reads the
collection test guesses of a comment against it.
"""

import hashlib
import hmac
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Header
from pymongo import InsertOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.coalescing import Coalescing
from shared.contracts import derived_event_id
from shared.mongo import outcomes_of
from shared.privacy.keys import KeyEncryptionKeys

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


def moment_now() -> datetime:
    """Now, to the millisecond, as MongoDB keeps it: a moment read back from a claim equals the one stored."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class Claim:
    """This request owns the key; ``moment`` is that of the key's first attempt."""

    moment: datetime


@dataclass(frozen=True)
class EventIds:
    """Event ids for one request: derived from the idempotency key when there is one, so retries match. The
    ``moment`` is the request's (a retry's is its key's first attempt's): what the server sets where the caller
    left a time out, and the CloudEvents ``time`` of its events."""

    clinic_id: str
    idempotency_key: str | None
    moment: datetime = field(default_factory=moment_now)

    def for_item(self, index: int = 0) -> str:
        if self.idempotency_key is None:
            return str(uuid.uuid4())
        return derived_event_id("http-intake", self.clinic_id, self.idempotency_key, str(index))


class Fingerprints:
    """Fingerprints of requests: HMAC-SHA256 under a key derived from each configured KEK. The first KEK's is
    stored; any KEK's matches, so a request retried while the KEKs are rotated is still recognised."""

    INFO = b"alliance.feedback.idempotency-fingerprint.v1"

    def __init__(self, keks: KeyEncryptionKeys) -> None:
        self._keys = [
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=self.INFO).derive(kek)
            for _, kek in keks.keys
        ]

    def of(self, method: str, path: str, body: bytes) -> list[str]:
        """The request's fingerprint under each KEK, the current one first."""
        message = b"\x1f".join([method.encode(), path.encode(), body])
        return [hmac.new(key, message, hashlib.sha256).hexdigest() for key in self._keys]


class IdempotencyStore:
    """Claims and answers are written in coalesced round trips (shared/coalescing.py): under load, one unordered
    bulk write stores the claims and answers of every request that came to that point meanwhile. Each request
    still learns its own outcome: a claim that lost to an existing key takes the path it would have alone."""

    def __init__(
        self, collection: AsyncCollection[Document], keep: timedelta, fingerprints: Fingerprints
    ) -> None:
        self.collection = collection
        self.keep = keep
        self.fingerprints = fingerprints
        # A key's claim is acknowledged before its answer is written, so one unordered bulk write never holds
        # both for the same key.
        self._write = Coalescing[InsertOne[Document] | UpdateOne, None](partial(_bulk_write, collection))

    async def ensure_indexes(self) -> None:
        await self.collection.create_index(
            "claimed_at", expireAfterSeconds=int(self.keep.total_seconds()), name="expire_claims"
        )
        await self.collection.create_index([("_id.clinic", 1), ("clients", 1)], name="by_client")

    async def claim(
        self, clinic_id: str, key: str, fingerprints: list[str], clients: Iterable[str] = ()
    ) -> Claim | StoredAnswer:
        """A Claim when this request now owns the key; the stored answer when it was answered before.
        ``fingerprints`` are the request's (the first is stored, any matches); ``clients`` those it names."""
        now = moment_now()
        document_id = {"clinic": clinic_id, "key": key}
        try:
            await self._write(
                InsertOne(
                    {
                        "_id": document_id,
                        "fingerprint": fingerprints[0],
                        "clients": sorted(set(clients)),
                        "claimed_at": now,
                        "moment": now,
                        "answer": None,
                    }
                )
            )
            return Claim(now)
        except DuplicateKeyError:
            existing = await self.collection.find_one({"_id": document_id})
        if existing is None:  # expired between the two calls: try once more
            return await self.claim(clinic_id, key, fingerprints, clients)
        if existing["fingerprint"] not in fingerprints:
            raise KeyReused
        if existing["answer"] is not None:
            return StoredAnswer(existing["answer"]["status_code"], existing["answer"]["body"])
        # Released by a failed attempt, or left by a request that died: this one takes it over.
        free = [{"released": True}, {"claimed_at": {"$lt": now - ABANDONED_AFTER}}]
        taken_over = await self.collection.find_one_and_update(
            {"_id": document_id, "answer": None, "$or": free},
            {"$set": {"claimed_at": now, "released": False}},
            return_document=ReturnDocument.AFTER,
        )
        if taken_over is None:
            raise KeyInProgress
        return Claim(taken_over.get("moment") or now)

    async def complete(self, clinic_id: str, key: str, answer: StoredAnswer) -> None:
        await self._write(
            UpdateOne(
                {"_id": {"clinic": clinic_id, "key": key}},
                {"$set": {"answer": {"status_code": answer.status_code, "body": answer.body}}},
            )
        )

    async def release(self, clinic_id: str, key: str) -> None:
        """The attempt stored nothing (a 503): the next takes the key over at once, with this one's moment."""
        await self.collection.update_one(
            {"_id": {"clinic": clinic_id, "key": key}, "answer": None}, {"$set": {"released": True}}
        )

    async def drop(self, clinic_id: str, key: str) -> None:
        """Delete an unanswered claim (its client was erased: nothing of theirs is kept)."""
        await self.collection.delete_one({"_id": {"clinic": clinic_id, "key": key}, "answer": None})

    async def forget_client(self, clinic_id: str, client_id: str) -> None:
        """Delete every record of a request naming the client (an erasure). A retry of such a request runs
        again: its events keep their ids, and an erased client's are refused."""
        await self.collection.delete_many({"_id.clinic": clinic_id, "clients": client_id})


async def _bulk_write(
    collection: AsyncCollection[Document], writes: Sequence[InsertOne[Document] | UpdateOne]
) -> list[BaseException | None]:
    """One unordered bulk write of ``writes``; each one's outcome."""
    try:
        await collection.bulk_write(list(writes), ordered=False)
    except BulkWriteError as error:
        return outcomes_of(len(writes), error)
    return [None] * len(writes)
