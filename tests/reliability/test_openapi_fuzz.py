"""Schemathesis over the scoring and notify OpenAPI documents (feedback has its own, in
tests/integration/feedback): generated requests with a valid key of every scope never get a 5xx. In-process
ASGI apps on the session's real Kafka and MongoDB; bounded examples per operation."""

import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from schemathesis.openapi import from_asgi
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.schemas import BaseSchema

from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from services.scoring.app import create_app as scoring_app
from services.scoring.settings import ScoringSettings
from shared.auth import KeyRing, Scope, hash_key
from tests.support.fuzz import fuzz_every_operation
from tests.support.servers import Servers

pytestmark = pytest.mark.slow
API_KEY = f"fuzz-{uuid.uuid4().hex}"


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
    tested, statuses = fuzz_every_operation(api, API_KEY, max_examples=30)
    assert len(tested) >= 6, tested
    # Past auth, and both sides of validation reached.
    assert 422 in statuses and any(200 <= code < 300 for code in statuses), statuses
