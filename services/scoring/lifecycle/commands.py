"""The operator's side of a client's data lifecycle, run by the ``alliance`` command where scoring's code is
installed: erase a client, rotate the key-encryption key, export or erase a whole clinic.

Each opens its own MongoDB and Kafka connections with scoring's settings and runs the same code as the API
(an erasure by the CLI is the same erasure, ``by: operator``).
"""

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.scoring.api import ScoringApi
from services.scoring.app import AUDIT, CLIENTS, OUTBOX, SETTINGS
from services.scoring.audit import AuditLog
from services.scoring.clients import ClientStore
from services.scoring.clinic_settings import ClinicSettingsStore
from services.scoring.export.client_export import client_export
from services.scoring.export.fhir_bundle import fhir_bundle
from services.scoring.export.notifications import NOTIFICATIONS, NotificationLog
from services.scoring.lifecycle.erasure import HOLDS, ClientOnHold, ErasureRecord, Erasures
from services.scoring.service import ScoringService
from services.scoring.settings import ScoringSettings
from services.scoring.trajectory_models import MODELS, TrajectoryModels
from shared import mongo
from shared.auth import ClinicPrincipal, KeyRing
from shared.clinic_keys import catch_up, publish_key_hash
from shared.messaging import Outbox, OutboxRelay, make_broker
from shared.privacy.keys import COLLECTION as KEYS
from shared.privacy.keys import Rewrapped
from shared.privacy.plumbing import Privacy

OPERATOR = "operator"


@dataclass(frozen=True)
class Connections:
    settings: ScoringSettings
    client: AsyncMongoClient[mongo.Document]
    db: AsyncDatabase[mongo.Document]
    broker: KafkaBroker
    privacy: Privacy
    erasures: Erasures

    def scoring_api(self) -> ScoringApi:
        """The read side of the API, as the routes see it (nothing of it publishes here)."""
        clients, outbox = ClientStore(self.db[CLIENTS]), Outbox(self.db[OUTBOX])
        models = TrajectoryModels(self.db[MODELS])
        settings = ClinicSettingsStore(self.db[SETTINGS], models)
        relay = OutboxRelay(outbox, self.broker, "operator")
        service = ScoringService(self.client, clients, settings, outbox, relay, self.privacy)
        audit = AuditLog(self.db[AUDIT], self.privacy.erased)
        return ScoringApi(clients, settings, audit, service, self.settings.active_days, models, self.privacy)


@asynccontextmanager
async def connected(settings: ScoringSettings | None = None) -> AsyncIterator[Connections]:
    settings = settings or ScoringSettings()
    client = mongo.connect(settings)
    broker = make_broker(settings, "operator")
    try:
        db = mongo.database(client, settings)
        privacy = Privacy.of(db, settings)
        await privacy.start(settings.kafka_bootstrap_servers)
        await broker.connect()
        yield Connections(settings, client, db, broker, privacy, Erasures(client, db, privacy, broker))
    finally:
        await broker.stop()
        await client.close()


async def erase_client(
    clinic_id: str, client_id: str, reason: str, settings: ScoringSettings | None = None
) -> ErasureRecord:
    """UnknownClient or ClientOnHold when it cannot be erased (nothing changes then)."""
    async with connected(settings) as c:
        return await c.erasures.erase(clinic_id, client_id, OPERATOR, reason)


async def rotate_kek(settings: ScoringSettings | None = None) -> Rewrapped:
    """Re-wrap every data key with the first KEK of ``ALLIANCE_KEKS``."""
    async with connected(settings) as c:
        return await c.privacy.keys.rewrap()


async def clients_of(db: AsyncDatabase[mongo.Document], clinic_id: str) -> list[str]:
    """Every client the clinic has: a history in scoring, or a data key."""
    with_history = await db["scoring_clients"].distinct("client_id", {"clinic_id": clinic_id})
    with_key = [ref.partition(":")[2] for ref in await db[KEYS].distinct("_id", {"clinic_id": clinic_id})]
    return sorted({*with_history, *with_key})


# What a clinic leaves behind once every client is erased: its configuration, by collection. The erasure
# records stay: they hold no pseudonym and prove what was erased.
CLINIC_CONFIGURATION = {
    "scoring_clinic_settings": "_id",
    "scoring_trajectory_models": "clinic_id",
    "scoring_audit": "clinic_id",
    "notify_routing": "_id",
}


@dataclass(frozen=True)
class ClinicErased:
    clients: int
    keys_revoked: int


async def erase_clinic(clinic_id: str, reason: str, settings: ScoringSettings | None = None) -> ClinicErased:
    """Erase every client, revoke every API key and remove the clinic's configuration; refused (ClientOnHold,
    nothing done) while any client is under legal hold."""
    async with connected(settings) as c:
        held = await c.db[HOLDS].count_documents({"clinic_id": clinic_id})
        if held:
            raise ClientOnHold(f"{held} client(s) of clinic {clinic_id!r}")
        erased = [
            await c.erasures.erase(clinic_id, client_id, OPERATOR, reason)
            for client_id in await clients_of(c.db, clinic_id)
        ]
        ring = KeyRing()
        await catch_up(ring, c.settings.kafka_bootstrap_servers)
        revoked = 0
        for key_hash, scopes, was_revoked in ring.keys_of(clinic_id):
            if not was_revoked:
                await publish_key_hash(c.broker, clinic_id, key_hash, scopes, revoked=True)
                revoked += 1
        for name, field in CLINIC_CONFIGURATION.items():
            await c.db[name].delete_many({field: clinic_id})
        return ClinicErased(len(erased), revoked)


async def export_clinic(
    clinic_id: str,
    directory: Path,
    progress: Callable[[int, int], None] = lambda done, total: None,
    settings: ScoringSettings | None = None,
) -> int:
    """Write every client's export (JSON and FHIR) under ``directory/clients``, and the clinic's settings and
    routing beside; returns how many clients. Each export is audited, as through the API."""
    async with connected(settings) as c:
        api = c.scoring_api()
        notifications = NotificationLog(c.db[NOTIFICATIONS])
        operator = ClinicPrincipal(clinic_id, OPERATOR, frozenset())
        (directory / "clients").mkdir(parents=True, exist_ok=True)
        client_ids = await c.db[CLIENTS].distinct("client_id", {"clinic_id": clinic_id})
        for done, client_id in enumerate(sorted(client_ids), start=1):
            export = await client_export(api, notifications, clinic_id, client_id, datetime.now(UTC))
            await api.audit.record(operator, "alliance export-clinic", [client_id], found=export is not None)
            if export is not None:
                _write(directory / "clients" / f"{client_id}.json", export.model_dump(mode="json"))
                _write(directory / "clients" / f"{client_id}.fhir.json", fhir_bundle(export))
            progress(done, len(client_ids))
        _write(directory / "settings.json", (await api.settings.view(clinic_id)).model_dump(mode="json"))
        routing = await c.db["notify_routing"].find_one({"_id": clinic_id}, {"_id": 0})
        _write(directory / "routing.json", routing or {})
        return len(client_ids)


def _write(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
