"""Schemathesis over the feedback OpenAPI document: generated requests, with a valid key, never get a 5xx."""

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from schemathesis.openapi import from_asgi
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.schemas import BaseSchema

from services.feedback.admin import issue_key
from services.feedback.app import create_app
from shared.auth import Scope
from tests.integration.feedback.conftest import intake_settings
from tests.support.fuzz import fuzz_every_operation
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
API_KEY = f"fuzz-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def feedback_api(servers: Servers) -> Iterator[BaseSchema]:
    unique = uuid.uuid4().hex[:10]
    app_settings = intake_settings(servers.kafka_bootstrap, servers.mongodb_uri, unique)
    asyncio.run(issue_key(app_settings, f"clinic-{unique}", API_KEY, frozenset({Scope.INGEST})))
    # Schemathesis runs the app (lifespan included) on its own event loop, in process.
    yield from_asgi("/openapi.json", create_app(app_settings))
    shutdown_lifespans()


def test_no_generated_request_gets_a_server_error(feedback_api: BaseSchema) -> None:
    tested, statuses = fuzz_every_operation(feedback_api, API_KEY, max_examples=25)
    assert "POST /v1/events:batch" in tested and len(tested) >= 8, tested
    # Past auth, and both sides of validation reached: valid requests accepted, invalid ones refused.
    assert {200, 202, 201, 422} <= set(statuses), statuses
