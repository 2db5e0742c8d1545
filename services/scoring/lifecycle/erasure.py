"""Erasing a client: what scoring removes, the record it keeps, and the event every service follows.

``Erasures.erase`` refuses a client on legal hold or unknown to the clinic, then publishes ``client.erased``
(acknowledged by Kafka before anything is removed: once it is there, every service, this one included, purges
the client even if this process dies now) and purges scoring's own data at once. The purge is idempotent: the
follower of ``client.erased`` runs it again for every erasure at every start.

What stays is the erasure record (``scoring_erasures``): clinic, a salted SHA-256 of the client's pseudonym,
when, by whom (an API key id, ``operator`` or ``retention``) and the reason given. The client's pseudonym
itself appears in no collection of the platform afterwards.
"""

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import Binary
from faststream.kafka import KafkaBroker
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared import mongo
from shared.contracts import ClientErasedV1, CloudEvent
from shared.messaging import Outbox
from shared.privacy.erasure import erasure_event, publish_erasure
from shared.privacy.plumbing import Privacy

Document = dict[str, Any]
ERASURES = "scoring_erasures"
HOLDS = "scoring_holds"
# Collections of scoring keyed by one document a client, or holding one client per document.
PER_CLIENT = ("scoring_clients", "scoring_notifications", HOLDS)
OUTBOX, AUDIT = "scoring_outbox", "scoring_audit"


class UnknownClient(LookupError):
    """No such client in the caller's clinic."""


class ClientOnHold(Exception):
    """The clinic put the client under legal hold: nothing of theirs may be erased."""


@dataclass(frozen=True)
class ErasureRecord:
    erasure_id: str
    clinic_id: str
    client_hash: str
    erased_at: datetime
    by: str


def salted_hash(client_id: str, salt: bytes) -> str:
    return hashlib.sha256(salt + client_id.encode()).hexdigest()


class Erasures:
    def __init__(
        self,
        client: AsyncMongoClient[Document],
        db: AsyncDatabase[Document],
        privacy: Privacy,
        broker: KafkaBroker,
    ) -> None:
        self._client = client
        self._db = db
        self._privacy = privacy
        self._broker = broker

    async def ensure_indexes(self) -> None:
        await self._db[ERASURES].create_index([("clinic_id", ASCENDING), ("erased_at", ASCENDING)])
        await self._db[HOLDS].create_index([("clinic_id", ASCENDING)])

    async def known(self, clinic_id: str, client_id: str) -> bool:
        """Whether the clinic has this client: a history in scoring, or a data key (words sealed for them)."""
        found = await self._db["scoring_clients"].find_one(
            {"clinic_id": clinic_id, "client_id": client_id}, {"_id": 1}
        )
        return found is not None or await self._privacy.keys.find(clinic_id, client_id) is not None

    async def hold_of(self, clinic_id: str, client_id: str) -> Document | None:
        """The client's legal hold (reason, set_at, set_by), if the clinic put one on."""
        return await self._db[HOLDS].find_one(
            {"clinic_id": clinic_id, "client_id": client_id}, {"_id": 0, "clinic_id": 0, "client_id": 0}
        )

    async def put_hold(self, clinic_id: str, client_id: str, reason: str | None, by: str) -> Document:
        hold = {"reason": reason, "set_at": datetime.now(UTC), "set_by": by}
        await self._db[HOLDS].replace_one(
            {"_id": f"{clinic_id}:{client_id}"},
            {"clinic_id": clinic_id, "client_id": client_id, **hold},
            upsert=True,
        )
        return hold

    async def lift_hold(self, clinic_id: str, client_id: str) -> None:
        await self._db[HOLDS].delete_one({"_id": f"{clinic_id}:{client_id}"})

    async def on_hold(self, clinic_id: str, client_id: str) -> bool:
        return await self.hold_of(clinic_id, client_id) is not None

    async def erase(self, clinic_id: str, client_id: str, by: str, reason: str) -> ErasureRecord:
        """Erase the client; UnknownClient or ClientOnHold leave everything as it was."""
        if not await self.known(clinic_id, client_id):
            raise UnknownClient(client_id)
        if await self.on_hold(clinic_id, client_id):
            raise ClientOnHold(client_id)
        event = erasure_event(clinic_id, client_id, by)
        await publish_erasure(self._broker, event)
        return await self.purge(event, reason)

    async def purge(self, event: CloudEvent[ClientErasedV1], reason: str | None = None) -> ErasureRecord:
        """Remove everything scoring holds of the erased client and keep the erasure record (once per erasure
        event; ``reason`` is known only where the erasure was asked for)."""
        clinic_id, client_id = event.clinicid, event.data.client_id
        self._privacy.erased.add(clinic_id, client_id)

        async def work(session: AsyncClientSession) -> ErasureRecord:
            await purge_client(self._db, clinic_id, client_id, session)
            await self._privacy.keys.shred(clinic_id, client_id, session)
            return await keep_record(self._db, event, reason, session)

        return await mongo.in_transaction(self._client, work)


async def purge_client(
    db: AsyncDatabase[Document], clinic_id: str, client_id: str, session: AsyncClientSession | None = None
) -> None:
    """Every scoring document of the client goes; audit entries keep what they say about other clients."""
    for name in PER_CLIENT:
        await db[name].delete_many({"clinic_id": clinic_id, "client_id": client_id}, session=session)
    # Staged or recently published events about the client (a published one is kept a few days).
    await Outbox(db[OUTBOX]).forget_client(clinic_id, client_id, session)
    audit = db[AUDIT]
    about = {"clinic_id": clinic_id, "client_ids": client_id}
    await audit.update_many(about, {"$pull": {"client_ids": client_id}}, session=session)
    await audit.delete_many({"clinic_id": clinic_id, "client_ids": {"$size": 0}}, session=session)


async def keep_record(
    db: AsyncDatabase[Document],
    event: CloudEvent[ClientErasedV1],
    reason: str | None = None,
    session: AsyncClientSession | None = None,
) -> ErasureRecord:
    """The erasure record of ``event``, kept once (a replay keeps it again, without the reason)."""
    records = db[ERASURES]
    found = await records.find_one({"_id": event.id}, session=session)
    if found is None:
        salt = os.urandom(16)
        found = {
            "_id": event.id,
            "clinic_id": event.clinicid,
            "client_hash": salted_hash(event.data.client_id, salt),
            "salt": Binary(salt),
            "erased_at": event.data.erased_at,
            "by": event.data.by,
            "reason": reason,
        }
        await records.insert_one(found, session=session)
    elif reason is not None and found.get("reason") is None:
        await records.update_one({"_id": event.id}, {"$set": {"reason": reason}}, session=session)
    return ErasureRecord(event.id, found["clinic_id"], found["client_hash"], found["erased_at"], found["by"])
