"""Schemathesis over the scoring and notify OpenAPI documents (feedback has its own, in
tests/integration/feedback): generated requests with a valid key of every scope never get a 5xx. In-process
ASGI apps on the session's real Kafka and MongoDB; bounded examples per operation."""

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.openapi import from_asgi
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.schemas import BaseSchema

from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from services.scoring.app import create_app as scoring_app
from services.scoring.settings import ScoringSettings
from shared.auth import KeyRing, Scope, hash_key
from tests.support.servers import Servers

pytestmark = pytest.mark.slow
API_KEY = f"fuzz-{uuid.uuid4().hex}"
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)


def scoring(servers: Servers, unique: str, ring: KeyRing) -> FastAPI:
    return scoring_app(
        ScoringSettings(
            kafka_bootstrap_servers=servers.kafka_bootstrap,
            mongodb_uri=servers.mongodb_uri,
            mongodb_database=f"fuzz_{unique}",
            group_id=f"fuzz-scoring-{unique}",
        ),
        ring,
    )


def notify(servers: Servers, unique: str, ring: KeyRing) -> FastAPI:
    return notify_app(
        NotifySettings(
            kafka_bootstrap_servers=servers.kafka_bootstrap,
            mongodb_uri=servers.mongodb_uri,
            mongodb_database=f"fuzz_{unique}",
            group_id=f"fuzz-notify-{unique}",
        ),
        ring,
    )


@pytest.fixture(scope="module", params=["scoring", "notify"])
def api(request: pytest.FixtureRequest, servers: Servers) -> Iterator[BaseSchema]:
    unique = uuid.uuid4().hex[:10]
    ring = KeyRing()
    ring.apply(hash_key(API_KEY), f"clinic-{unique}", frozenset(Scope), revoked=False)
    make: Callable[[Servers, str, KeyRing], FastAPI] = scoring if request.param == "scoring" else notify
    yield from_asgi("/openapi.json", make(servers, unique, ring))
    shutdown_lifespans()


def test_no_generated_request_gets_a_server_error(api: BaseSchema) -> None:
    tested: list[str] = []
    statuses = Counter[int]()
    for result in api.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()

        @SETTINGS
        @given(case=operation.as_strategy())
        def no_server_error(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            headers: dict[str, Any] = {"Authorization": f"Bearer {API_KEY}"}
            response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
            statuses[response.status_code] += 1

        no_server_error()
        tested.append(operation.label)
    assert len(tested) >= 6, tested
    # Past auth, and both sides of validation reached.
    assert 422 in statuses and any(200 <= code < 300 for code in statuses), statuses
