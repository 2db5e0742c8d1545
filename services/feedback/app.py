"""The feedback service: HTTP intake in front of Kafka."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.feedback import api
from services.feedback.settings import FeedbackSettings
from shared import mongo
from shared.auth import KeyRing
from shared.clinic_keys import catch_up, follow_keys
from shared.http_ops import kafka_check, ops_router
from shared.logging import configure_logging
from shared.messaging import make_broker

SERVICE = "feedback"


def create_app(settings: FeedbackSettings | None = None) -> FastAPI:
    settings = settings or FeedbackSettings()
    configure_logging(SERVICE, settings.log_level)
    broker = make_broker(settings, SERVICE)
    client = mongo.connect(settings)
    key_ring = KeyRing()
    follow_keys(broker, key_ring)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.broker = broker
        app.state.key_ring = key_ring
        await catch_up(key_ring, settings.kafka_bootstrap_servers)
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()
            await client.close()

    app = FastAPI(
        title="Alliance feedback intake",
        version="1",
        description="Sessions and ratings in; every accepted request is durably in Kafka before the 202.",
        lifespan=lifespan,
    )
    app.include_router(api.router)
    app.include_router(
        ops_router({"kafka": kafka_check(broker.ping), "mongodb": lambda: mongo.is_reachable(client)})
    )
    return app
