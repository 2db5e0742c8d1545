"""The scoring service: sessions, ratings and acknowledgements in; alliance state, rupture events and the
read API out."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from services.scoring import api, export, handlers, metrics, web
from services.scoring.audit import AuditLog
from services.scoring.clients import ClientStore
from services.scoring.clinic_settings import ClinicSettingsStore
from services.scoring.fitting import LEASES, FitLease, TrajectoryFitter, TrajectoryFitting
from services.scoring.lifecycle import routes as lifecycle_routes
from services.scoring.lifecycle.erasure import Erasures
from services.scoring.lifecycle.retention import LEASE as RETENTION_LEASE
from services.scoring.lifecycle.retention import Retention, RetentionSchedule
from services.scoring.service import ScoringService
from services.scoring.settings import ScoringSettings
from services.scoring.trajectory_models import MODELS, TrajectoryModels
from shared import mongo
from shared.auth import KeyRing
from shared.clinic_keys import catch_up, follow_keys
from shared.contracts import ClientErasedV1, CloudEvent
from shared.http_ops import add_operations
from shared.logging import configure_logging
from shared.messaging import Outbox, OutboxRelay, make_broker, watch_consumer_lag
from shared.messaging.loop import stop_and_wait
from shared.privacy.plumbing import Privacy
from shared.tracing import configure_tracing

SERVICE = "scoring"
CLIENTS, SETTINGS, OUTBOX, AUDIT = (
    "scoring_clients",
    "scoring_clinic_settings",
    "scoring_outbox",
    "scoring_audit",
)


def create_app(
    settings: ScoringSettings | None = None,
    key_ring: KeyRing | None = None,
    web_settings: web.WebSettings | None = None,
    client_pages: web.ClientPageSettings | None = None,
) -> FastAPI:
    settings = settings or ScoringSettings()
    configure_logging(SERVICE, settings.log_level)
    configure_tracing(settings, SERVICE)
    broker = make_broker(settings, SERVICE)
    client = mongo.connect(settings)
    db = mongo.database(client, settings)
    privacy = Privacy.of(db, settings)
    clients, outbox = ClientStore(db[CLIENTS]), Outbox(db[OUTBOX])
    models = TrajectoryModels(db[MODELS])
    clinic_settings, audit = ClinicSettingsStore(db[SETTINGS], models), AuditLog(db[AUDIT], privacy.erased)
    relay = OutboxRelay(outbox, broker, SERVICE)
    holder = settings.instance_id or f"{SERVICE}-{uuid.uuid4().hex[:12]}"  # of the leases of scheduled jobs
    fitting = TrajectoryFitting(
        TrajectoryFitter(client, db[CLIENTS], models, outbox, staged=relay.wake),
        models,
        FitLease(db[LEASES]),
        holder=holder,
        every=timedelta(hours=settings.trajectory_fit_hours),
    )
    service = ScoringService(client, clients, clinic_settings, outbox, relay, privacy)
    handlers.register(broker, service, settings.group_id, settings.batch_max_records, settings.instance_id)
    notifications = export.follow_notifications(broker, db, privacy, settings)
    ring = key_ring or KeyRing()
    follow_keys(broker, ring)
    erasures = Erasures(client, db, privacy, broker)
    retention = RetentionSchedule(
        Retention(clinic_settings, erasures, db[CLIENTS]),
        FitLease(db[LEASES], name=RETENTION_LEASE),
        holder=holder,
    )

    async def purge(event: CloudEvent[ClientErasedV1]) -> None:
        await erasures.purge(event)

    privacy.follow(broker, purge)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await clients.ensure_indexes()
        await outbox.ensure_indexes()
        await audit.ensure_indexes()
        await models.ensure_indexes()
        await erasures.ensure_indexes()
        await notifications.ensure_indexes()
        await catch_up(ring, settings.kafka_bootstrap_servers)
        await privacy.start(settings.kafka_bootstrap_servers)
        await broker.start()
        watch_consumer_lag(broker, settings.kafka_bootstrap_servers)  # ends when the broker stops
        relaying = asyncio.create_task(relay.run(), name="outbox-relay")
        gauge = metrics.OpenEpisodesGauge(clients.open_episodes_by_clinic)
        counting = asyncio.create_task(gauge.run(), name="open-episodes-gauge")
        # After the relay: the events of a fit made at start-up are published at once.
        fitting_task = asyncio.create_task(fitting.run(), name="trajectory-fitting")
        retention_task = asyncio.create_task(retention.run(), name="retention")
        try:
            yield
        finally:
            try:
                # A fit cut short keeps the models it stored; the next start fits again.
                await stop_and_wait(fitting, fitting_task, settings.shutdown_grace_seconds)
                await stop_and_wait(retention, retention_task, settings.shutdown_grace_seconds)
                await stop_and_wait(gauge, counting, settings.shutdown_grace_seconds)
                # Events staged but not yet relayed stay in the durable outbox for the next start.
                await stop_and_wait(relay, relaying, settings.shutdown_grace_seconds)
            finally:
                await broker.stop()  # drains in-flight messages and commits their offsets
                await client.close()

    app = FastAPI(title="Alliance scoring", version="1", lifespan=lifespan)
    app.state.key_ring = ring
    app.state.scoring = api.ScoringApi(
        clients, clinic_settings, audit, service, settings.active_days, models, privacy
    )
    app.include_router(api.router)
    app.state.erasures = erasures
    app.include_router(lifecycle_routes.router)
    app.include_router(export.router)
    web.install(
        app, app.state.scoring, web.Plumbing(client, outbox, relay, privacy.words), web_settings, client_pages
    )
    add_operations(app, broker, client)
    return app
