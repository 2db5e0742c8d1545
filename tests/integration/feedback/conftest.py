from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.feedback.admin import issue_key
from services.feedback.app import create_app
from services.feedback.settings import FeedbackSettings
from shared.auth import Scope
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
        kafka_bootstrap_servers=kafka_bootstrap, mongodb_uri=mongodb_uri, mongodb_database=f"intake_{unique}"
    )
    return settings.model_copy(
        update={"rate_limit": "100000/minute", "link_secret": f"s-{unique}", **changes}
    )


@asynccontextmanager
async def running_intake(
    kafka_bootstrap: str, mongodb_uri: str, unique: str, **changes: Any
) -> AsyncIterator[Intake]:
    """The feedback app in this process, on real Kafka and MongoDB, with one clinic and its ingest key."""
    settings = intake_settings(kafka_bootstrap, mongodb_uri, unique, **changes)
    clinic_id, api_key = f"clinic-{unique}", f"key-{unique}-0123456789"
    await issue_key(settings, clinic_id, api_key, frozenset({Scope.INGEST}))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
            yield Intake(http, clinic_id, api_key, kafka_bootstrap, settings, app)


@pytest.fixture
async def intake(servers: Servers, unique: str) -> AsyncIterator[Intake]:
    async with running_intake(servers.kafka_bootstrap, servers.mongodb_uri, unique) as running:
        yield running
