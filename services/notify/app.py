"""The notify service: rupture events in, alerts out."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from services.notify import handlers
from services.notify.deliveries import Deliveries
from services.notify.settings import NotifySettings
from services.notify.webhook import WebhookChannel
from shared import mongo
from shared.http_ops import kafka_check, ops_router
from shared.logging import configure_logging
from shared.messaging import make_broker

SERVICE = "notify"


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    configure_logging(SERVICE, settings.log_level)
    broker = make_broker(settings, SERVICE)
    client = mongo.connect(settings)
    http = httpx.AsyncClient(timeout=settings.webhook_timeout_seconds)
    deliveries = Deliveries(mongo.database(client, settings)["notify_deliveries"])
    webhook = WebhookChannel(settings.webhook_url, http) if settings.webhook_url else None
    handlers.register(broker, deliveries, webhook)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()
            await http.aclose()
            await client.close()

    app = FastAPI(title="Alliance notify", version="1", lifespan=lifespan)
    app.include_router(
        ops_router({"kafka": kafka_check(broker.ping), "mongodb": lambda: mongo.is_reachable(client)})
    )
    return app
