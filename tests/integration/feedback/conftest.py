import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from services.feedback.admin import issue_key
from services.feedback.app import create_app
from services.feedback.goals import goals_group
from services.feedback.settings import FeedbackSettings
from shared import topics
from shared.auth import Scope
from shared.privacy.plumbing import Privacy
from shared.privacy.words import SEALED
from tests.support.kafka import start_group_at_end
from tests.support.servers import Servers


@dataclass
class Intake:
    http: httpx.AsyncClient
    clinic_id: str
    api_key: str
    kafka_bootstrap: str
    settings: FeedbackSettings
    app: FastAPI

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def intake_settings(kafka_bootstrap: str, mongodb_uri: str, unique: str, **changes: Any) -> FeedbackSettings:
    settings = FeedbackSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        mongodb_uri=mongodb_uri,
        mongodb_database=f"intake_{unique}",
        group_id=f"feedback-{unique}",
    )
    return settings.model_copy(
        update={"rate_limit": "100000/minute", "link_secret": f"s-{unique}", **changes}
    )


async def opened(settings: FeedbackSettings, clinic_id: str, client_id: str, sealed: Any) -> Any:
    """``sealed`` (a sealed ``Words`` value, or a JSON tree holding some) with the words opened by the client's
    data key in the intake's database; every value it opens must have been sealed, not sent in the clear."""
    found: list[str] = []

    def note(node: Any) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                note(value)
        elif isinstance(node, list):
            for value in node:
                note(value)

    note(sealed)
    assert not [value for value in found if value.startswith("clear:")], "words left the intake in the clear"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri)
    try:
        privacy = Privacy.of(client[settings.mongodb_database], settings)
        return await privacy.words.open_all(clinic_id, client_id, sealed)
    finally:
        await client.close()


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SEALED)


async def start_goals_at_end(settings: FeedbackSettings) -> None:
    """The app's goals consumer starts with the test's own events, not with everything the session's earlier
    tests left on client.events."""
    await start_group_at_end(
        settings.kafka_bootstrap_servers, goals_group(settings.group_id), [topics.CLIENT_EVENTS.name]
    )


@asynccontextmanager
async def running_intake(
    kafka_bootstrap: str, mongodb_uri: str, unique: str, **changes: Any
) -> AsyncIterator[Intake]:
    """The feedback app in this process, on real Kafka and MongoDB, with one clinic and its ingest key."""
    settings = intake_settings(kafka_bootstrap, mongodb_uri, unique, **changes)
    clinic_id, api_key = f"clinic-{unique}", f"key-{unique}-0123456789"
    await issue_key(settings, clinic_id, api_key, frozenset({Scope.INGEST}))
    await start_goals_at_end(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
            yield Intake(http, clinic_id, api_key, kafka_bootstrap, settings, app)


@pytest.fixture
async def intake(servers: Servers, unique: str) -> AsyncIterator[Intake]:
    async with running_intake(servers.kafka_bootstrap, servers.mongodb_uri, unique) as running:
        yield running


class ServiceLog(logging.Handler):
    """Every line the service logs, rendered as its own handler renders it (JSON, extras included)."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def service_log(intake: Intake) -> Iterator[ServiceLog]:
    """What the intake logs from now until the test ends: the formatter of the handler its start installed,
    at the level it configured."""
    root = logging.getLogger()
    formatter = next(
        handler.formatter
        for handler in root.handlers
        if isinstance(handler.formatter, structlog.stdlib.ProcessorFormatter)
    )
    log = ServiceLog(formatter)
    root.addHandler(log)
    try:
        yield log
    finally:
        root.removeHandler(log)
