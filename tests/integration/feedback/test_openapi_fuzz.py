"""Schemathesis over the feedback OpenAPI document: generated requests, with a valid key, never get a 5xx."""

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.openapi import from_asgi
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.schemas import BaseSchema

from services.feedback.admin import issue_key
from services.feedback.app import create_app
from shared.auth import Scope
from tests.integration.feedback.conftest import intake_settings
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


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)


def test_no_generated_request_gets_a_server_error(feedback_api: BaseSchema) -> None:
    # One Hypothesis run per operation (schemathesis' lazy pytest fixture does not work with pytest 9).
    tested, statuses = [], Counter[int]()
    for result in feedback_api.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()

        @SETTINGS
        @given(case=operation.as_strategy())
        def no_server_error(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {API_KEY}"}, checks=[not_a_server_error]
            )
            statuses[response.status_code] += 1

        no_server_error()
        tested.append(operation.label)
    assert "POST /v1/events:batch" in tested and len(tested) >= 8, tested
    # Past auth, and both sides of validation reached: valid requests accepted, invalid ones refused.
    assert {200, 202, 201, 422} <= set(statuses), statuses
