"""Clinics and their API keys. A key is stored only as its SHA-256 hash and belongs to exactly one clinic."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

Document = dict[str, Any]


@dataclass(frozen=True)
class Clinic:
    clinic_id: str


def hash_key(api_key: str) -> str:
    # API keys are long random secrets, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(api_key.encode()).hexdigest()


class ClinicKeys:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._keys = collection

    async def issue(self, clinic_id: str, api_key: str) -> None:
        """Register ``api_key`` for ``clinic_id``; idempotent, and a key can never move to another clinic."""
        await self._keys.update_one(
            {"_id": hash_key(api_key)},
            {"$setOnInsert": {"clinic_id": clinic_id, "created_at": datetime.now(UTC), "revoked_at": None}},
            upsert=True,
        )
        stored = await self._keys.find_one({"_id": hash_key(api_key)})
        if stored is None or stored["clinic_id"] != clinic_id:
            raise ValueError("that key already belongs to another clinic")

    async def authenticate(self, api_key: str) -> Clinic | None:
        stored = await self._keys.find_one({"_id": hash_key(api_key), "revoked_at": None})
        return Clinic(stored["clinic_id"]) if stored else None
