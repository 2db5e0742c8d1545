from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

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


@pytest.fixture
async def intake(servers: Servers, unique: str) -> AsyncIterator[Intake]:
    """The feedback app in this process, on the real Kafka and MongoDB, with one clinic and its key."""
    settings = FeedbackSettings(
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        mongodb_uri=servers.mongodb_uri,
        mongodb_database=f"intake_{unique}",
    )
    clinic_id, api_key = f"clinic-{unique}", f"key-{unique}-0123456789"
    await issue_key(settings, clinic_id, api_key, frozenset({Scope.INGEST}))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
            yield Intake(http, clinic_id, api_key, servers.kafka_bootstrap, settings)
