"""The notify service: rupture events in; alerts out by e-mail and webhook; acknowledgements and audit events.

It follows ``client.erased`` (shared/privacy): an erased client's records are purged, and their later events
dropped."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from services.notify import api, handlers
from services.notify.acknowledgement import AckLinks, Acknowledgements
from services.notify.channels.email import EmailChannel
from services.notify.channels.webhook import WebhookChannel
from services.notify.deliveries import DeliveryStore
from services.notify.dispatch import Dispatcher
from services.notify.episodes import EpisodeStore
from services.notify.erasure import ClientPurge, Erasures
from services.notify.escalation import Escalation
from services.notify.routing_store import RoutingStore
from services.notify.settings import NotifySettings
from services.notify.worker import DeliveryWorker
from shared import mongo, tracing
from shared.auth import KeyRing
from shared.client_links import ClientPages, ClientPageSettings
from shared.clinic_keys import catch_up, follow_keys
from shared.http_ops import add_operations
from shared.logging import configure_logging
from shared.messaging import Outbox, OutboxRelay, make_broker, watch_consumer_lag
from shared.messaging.loop import stop_and_wait
from shared.privacy.plumbing import Privacy
from shared.view_links import ViewLinks

SERVICE = "notify"


def create_app(
    settings: NotifySettings | None = None,
    key_ring: KeyRing | None = None,
    client_pages: ClientPageSettings | None = None,
) -> FastAPI:
    settings = settings or NotifySettings()
    configure_logging(SERVICE, settings.log_level)
    tracing.configure_tracing(settings, SERVICE)
    broker = make_broker(settings, SERVICE)
    client = mongo.connect(settings)
    db = mongo.database(client, settings)
    http = httpx.AsyncClient(timeout=settings.webhook_timeout_seconds)
    tracing.instrument_http_client(http)
    key_ring = key_ring or KeyRing()
    follow_keys(broker, key_ring)

    routing = RoutingStore(db["notify_routing"])
    deliveries = DeliveryStore(db["notify_deliveries"], db["notify_dead_letters"])
    episodes = EpisodeStore(db["notify_episodes"])
    outbox = Outbox(db["notify_outbox"])
    relay = OutboxRelay(outbox, broker, SERVICE)
    privacy = Privacy.of(db, settings)
    purge = ClientPurge(deliveries, episodes, outbox)
    erasures = Erasures(privacy.erased, purge)
    privacy.follow(broker, erasures.purge)
    links = AckLinks(
        settings.ack_secret.get_secret_value(), settings.public_url, settings.ack_link_max_age_days
    )
    dispatcher = Dispatcher(
        ViewLinks(settings.view_secret.get_secret_value(), settings.dashboard_url, settings.view_link_days),
        settings.default_webhook_secrets,
        routing,
        links,
        EmailChannel(settings),
        WebhookChannel(http),
    )
    escalation = Escalation(client, episodes, deliveries, routing, erasures)
    worker = DeliveryWorker(client, deliveries, outbox, relay, dispatcher, escalation, settings, erasures)
    intake = handlers.AlertIntake(
        client, routing, deliveries, episodes, settings.webhook_url, worker.wake, erasures
    )
    acknowledgements = Acknowledgements(client, episodes, outbox, relay, erasures)
    pages = ClientPages(client_pages or ClientPageSettings())
    links_owed = handlers.ClientPageIntake(routing, deliveries, pages, worker.wake, erasures)
    handlers.register(broker, intake, acknowledgements, links_owed, settings.group_id, settings.instance_id)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await deliveries.ensure_indexes()
        await episodes.ensure_indexes()
        await outbox.ensure_indexes()
        await purge.ensure_indexes()
        await catch_up(key_ring, settings.kafka_bootstrap_servers)
        await privacy.start(settings.kafka_bootstrap_servers)  # every erasure known before any event is read
        await broker.start()
        watch_consumer_lag(broker, settings.kafka_bootstrap_servers)  # ends when the broker stops
        loops = {
            relay: asyncio.create_task(relay.run(), name="notify-outbox-relay"),
            worker: asyncio.create_task(worker.run(), name="notify-delivery-worker"),
        }
        try:
            yield
        finally:
            await broker.stop()  # drains in-flight messages and commits their offsets
            for loop, task in loops.items():
                await stop_and_wait(loop, task, settings.shutdown_grace_seconds)
            await worker.release()  # unfinished sends go to the next instance at once
            await http.aclose()
            await client.close()

    app = FastAPI(title="Alliance notify", version="1", lifespan=lifespan)
    app.state.key_ring = key_ring
    app.state.notify = api.NotifyApi(routing, acknowledgements, links)
    app.include_router(api.router)
    app.add_exception_handler(RequestValidationError, api.refused_without_secrets)
    add_operations(app, broker, client)
    return app
