"""The keys that seal a person's words: one data key per client, wrapped by a key-encryption key (KEK).

The KEKs come from the environment (``ALLIANCE_KEKS``, ``id:base64-of-32-bytes`` separated by commas; the first
wraps new data keys, the others only unwrap, so a KEK can be rotated). The wrapped data keys live in MongoDB,
in ``client_keys``, the one collection every service reads: erasing a client deletes its data key there, once,
and every copy of its words becomes unreadable (crypto-shredding).
"""

import base64
import binascii
import os
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]
KEKS_VARIABLE = "ALLIANCE_KEKS"
COLLECTION = "client_keys"
NONCE_BYTES = 12
KEY_BYTES = 32
CACHED_KEYS = 10_000


class KeyConfigurationError(RuntimeError):
    """The KEKs are missing, malformed, or do not open the data keys: the service must not start."""


@dataclass(frozen=True)
class KeyEncryptionKeys:
    """The configured KEKs by id, in order: the first wraps, every one unwraps."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, text: str | None) -> "KeyEncryptionKeys":
        if not text or not text.strip():
            raise KeyConfigurationError(
                f"{KEKS_VARIABLE} is not set: give at least one key-encryption key as id:base64 of 32 random"
                " bytes (`alliance new-kek` prints one); see docs/privacy.md"
            )
        keys: list[tuple[str, bytes]] = []
        for position, entry in enumerate(text.split(","), start=1):
            kek_id, separator, encoded = entry.strip().partition(":")
            if not separator or not kek_id or not kek_id.replace("-", "").replace("_", "").isalnum():
                raise KeyConfigurationError(f"{KEKS_VARIABLE} entry {position} is not id:base64")
            try:
                key = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise KeyConfigurationError(f"{KEKS_VARIABLE} key {kek_id!r} is not base64") from None
            if len(key) != KEY_BYTES:
                raise KeyConfigurationError(
                    f"{KEKS_VARIABLE} key {kek_id!r} has {len(key)} bytes, not {KEY_BYTES}"
                )
            if any(kek_id == known for known, _ in keys):
                raise KeyConfigurationError(f"{KEKS_VARIABLE} names key {kek_id!r} twice")
            keys.append((kek_id, key))
        return cls(tuple(keys))

    @classmethod
    def from_environment(cls) -> "KeyEncryptionKeys":
        return cls.parse(os.environ.get(KEKS_VARIABLE))

    @property
    def current(self) -> str:
        return self.keys[0][0]

    def wrap(self, key_ref: str, data_key: bytes) -> tuple[str, bytes]:
        kek_id, kek = self.keys[0]
        nonce = os.urandom(NONCE_BYTES)
        return kek_id, nonce + AESGCM(kek).encrypt(nonce, data_key, key_ref.encode())

    def unwrap(self, kek_id: str, key_ref: str, wrapped: bytes) -> bytes:
        kek = dict(self.keys).get(kek_id)
        if kek is None:
            raise KeyConfigurationError(
                f"a data key is wrapped by KEK {kek_id!r}, which {KEKS_VARIABLE} does not hold"
                " (keep a KEK configured until `alliance rotate-kek` has re-wrapped every data key)"
            )
        try:
            return AESGCM(kek).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], key_ref.encode())
        except InvalidTag:
            raise KeyConfigurationError(
                f"KEK {kek_id!r} in {KEKS_VARIABLE} does not open the data keys it wrapped: a wrong key"
            ) from None


def new_kek() -> str:
    """A fresh KEK, base64 (for ``ALLIANCE_KEKS``)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def key_ref(clinic_id: str, client_id: str) -> str:
    return f"{clinic_id}:{client_id}"


@dataclass(frozen=True)
class Rewrapped:
    total: int
    rewrapped: int


class DataKeys:
    """Every client's data key: created on first use, cached unwrapped in this process, shredded on erasure."""

    def __init__(self, collection: AsyncCollection[Document], keks: KeyEncryptionKeys) -> None:
        self.collection = collection
        self.keks = keks
        self._cache: OrderedDict[str, bytes] = OrderedDict()

    async def verify(self) -> None:
        """Unwrap one data key of every KEK that wrapped any: a missing or wrong KEK stops start-up here."""
        for kek_id in await self.collection.distinct("kek"):
            sample = await self.collection.find_one({"kek": kek_id})
            if sample is not None:
                self.keks.unwrap(kek_id, sample["_id"], bytes(sample["wrapped"]))

    async def key_for(self, clinic_id: str, client_id: str) -> bytes:
        """The client's data key, created if the client has none yet."""
        found = await self.find(clinic_id, client_id)
        if found is not None:
            return found
        ref = key_ref(clinic_id, client_id)
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        kek_id, wrapped = self.keks.wrap(ref, data_key)
        document = {
            "_id": ref,
            "clinic_id": clinic_id,
            "kek": kek_id,
            "wrapped": wrapped,
            "created_at": datetime.now(UTC),
        }
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError:  # another process created it first: theirs is the client's key
            created = await self.find(clinic_id, client_id)
            if created is None:
                raise
            return created
        self._remember(ref, data_key)
        return data_key

    async def find(self, clinic_id: str, client_id: str) -> bytes | None:
        """The client's data key; None if there is none (never created, or shredded)."""
        ref = key_ref(clinic_id, client_id)
        cached = self._cache.get(ref)
        if cached is not None:
            self._cache.move_to_end(ref)
            return cached
        document = await self.collection.find_one({"_id": ref})
        if document is None:
            return None
        data_key = self.keks.unwrap(document["kek"], ref, bytes(document["wrapped"]))
        self._remember(ref, data_key)
        return data_key

    async def shred(self, clinic_id: str, client_id: str, session: AsyncClientSession | None = None) -> bool:
        """Delete the client's data key: every copy of their words becomes unreadable."""
        self.forget(clinic_id, client_id)
        result = await self.collection.delete_one({"_id": key_ref(clinic_id, client_id)}, session=session)
        return result.deleted_count == 1

    def forget(self, clinic_id: str, client_id: str) -> None:
        self._cache.pop(key_ref(clinic_id, client_id), None)

    async def rewrap(self) -> Rewrapped:
        """Re-wrap every data key not wrapped by the first KEK with it (``alliance rotate-kek``)."""
        total = rewrapped = 0
        async for document in self.collection.find({}, {"kek": 1, "wrapped": 1}):
            total += 1
            if document["kek"] == self.keks.current:
                continue
            data_key = self.keks.unwrap(document["kek"], document["_id"], bytes(document["wrapped"]))
            kek_id, wrapped = self.keks.wrap(document["_id"], data_key)
            result = await self.collection.update_one(
                {"_id": document["_id"], "kek": document["kek"]},
                {"$set": {"kek": kek_id, "wrapped": wrapped}},
            )
            rewrapped += result.modified_count
        return Rewrapped(total, rewrapped)

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("kek")
        await self.collection.create_index("clinic_id")

    def _remember(self, ref: str, data_key: bytes) -> None:
        self._cache[ref] = data_key
        self._cache.move_to_end(ref)
        while len(self._cache) > CACHED_KEYS:
            self._cache.popitem(last=False)
