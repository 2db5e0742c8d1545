from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from services.scoring.app import create_app
from services.scoring.settings import ScoringSettings
from shared import mongo
from shared.auth import KeyRing, Scope, hash_key
from shared.topics import ALL_TOPICS, DEAD_LETTER
from tests.integration.scoring.streams import Publisher
from tests.support import waiting
from tests.support.kafka import records_matching, start_group_at_end
from tests.support.servers import Servers

Document = dict[str, Any]


@dataclass
class Scoring:
    """The scoring app of one test: its own database and consumer group, on the session's real servers."""

    settings: ScoringSettings
    ring: KeyRing
    db: AsyncDatabase[Document]
    bootstrap: str
    started: bool = False
    app: Any = None  # the running app, while ``running`` is open

    def key_for(self, clinic_id: str, *scopes: Scope) -> str:
        api_key = f"key-{clinic_id}-{'-'.join(scopes) or 'all'}"
        self.ring.apply(
            hash_key(api_key), clinic_id, frozenset(scopes or {Scope.READ, Scope.ADMIN}), revoked=False
        )
        return api_key

    @asynccontextmanager
    async def running(self) -> AsyncIterator[httpx.AsyncClient]:
        """One instance of the app: leaving the block is a clean shutdown (drain, commit, stop)."""
        if not self.started:  # the test's own group begins after what earlier tests left on the topics
            await start_group_at_end(self.bootstrap, self.settings.group_id, [t.name for t in ALL_TOPICS])
            self.started = True
        app = self.app = create_app(self.settings, self.ring)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scoring") as http,
        ):
            yield http

    async def client_doc(self, clinic_id: str, client_id: str) -> Document | None:
        return await self.db["scoring_clients"].find_one({"_id": f"{clinic_id}:{client_id}"})


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    """Wait until ``check`` holds; fail the test with a clear message if it never does."""
    await waiting.eventually(check, within)


async def dead_letters(scoring: Scoring, key: bytes, expected: int) -> tuple[list[Any], list[dict[str, str]]]:
    """The dead letters of one client (``key``) and their headers, once ``expected`` of them are there."""
    dead = await records_matching(
        scoring.bootstrap, DEAD_LETTER.name, lambda r: r.key == key, expected=expected, within=15, settle=1
    )
    return dead, [{name: value.decode() for name, value in record.headers} for record in dead]


async def applied_count(scoring: Scoring, clinic_id: str, client_id: str) -> int:
    document = await scoring.client_doc(clinic_id, client_id)
    return 0 if document is None else len(document["events"])


@pytest.fixture
async def scoring(servers: Servers, unique: str) -> AsyncIterator[Scoring]:
    settings = ScoringSettings(
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        mongodb_uri=servers.mongodb_uri,
        mongodb_database=f"scoring_{unique}",
        group_id=f"scoring-{unique}",
    )
    client = mongo.connect(settings)
    try:
        yield Scoring(settings, KeyRing(), mongo.database(client, settings), servers.kafka_bootstrap)
    finally:
        await client.drop_database(settings.mongodb_database)
        await client.close()


@pytest.fixture
async def publisher(servers: Servers) -> AsyncIterator[Publisher]:
    producer = AIOKafkaProducer(bootstrap_servers=servers.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        yield Publisher(producer)
    finally:
        await producer.stop()
