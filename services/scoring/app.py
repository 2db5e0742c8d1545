"""The scoring service: sessions and ratings in, alliance state and rupture events out."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.scoring import handlers
from services.scoring.clients import ClientStore
from services.scoring.service import ScoringService
from services.scoring.settings import ScoringSettings
from shared import mongo
from shared.http_ops import kafka_check, ops_router
from shared.logging import configure_logging
from shared.messaging import Outbox, OutboxRelay, make_broker

SERVICE = "scoring"


def create_app(settings: ScoringSettings | None = None) -> FastAPI:
    settings = settings or ScoringSettings()
    configure_logging(SERVICE, settings.log_level)
    broker = make_broker(settings, SERVICE)
    client = mongo.connect(settings)
    db = mongo.database(client, settings)
    clients, outbox = ClientStore(db["scoring_clients"]), Outbox(db["scoring_outbox"])
    relay = OutboxRelay(outbox, broker, SERVICE)
    handlers.register(broker, ScoringService(client, clients, outbox, relay))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await clients.ensure_indexes()
        await outbox.ensure_indexes()
        await broker.start()
        relaying = asyncio.create_task(relay.run(), name="outbox-relay")
        try:
            yield
        finally:
            # Events staged but not yet relayed stay in the durable outbox for the next start.
            relaying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relaying
            await broker.stop()  # drains in-flight messages and commits their offsets
            await client.close()

    app = FastAPI(title="Alliance scoring", version="1", lifespan=lifespan)
    app.include_router(
        ops_router({"kafka": kafka_check(broker.ping), "mongodb": lambda: mongo.is_reachable(client)})
    )
    return app
