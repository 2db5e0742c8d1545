"""Kafka stopped mid-test: the write is answered 503 with Retry-After, and nothing lands when Kafka is back.

This test runs its own throwaway Kafka (devstack profile ``kafkadown``, free ports), so it never disturbs the
session's servers, and works the same in CI. What it verifies: the intake producer gives up on its own
(``publish_timeout_ms``) and drops the write, rather than the idempotent producer's retry-forever, which
would have delivered the 503'd event once Kafka returned.
"""

import asyncio
import json
import time
from collections.abc import Iterator

import pytest

from devstack.stack import Stack
from tests.integration.feedback.conftest import running_intake
from tests.integration.feedback.payloads import feedback
from tests.support.kafka import records_matching
from tests.support.servers import Servers, throwaway_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def throwaway_kafka() -> Iterator[Stack]:
    with throwaway_stack("kafkadown", kafka=True) as stack:
        yield stack


async def test_kafka_down_gives_503_and_no_ghost_event_after_it_returns(
    throwaway_kafka: Stack, servers: Servers, unique: str
) -> None:
    bootstrap = throwaway_kafka.kafka_bootstrap
    async with running_intake(bootstrap, servers.mongodb_uri, unique, publish_timeout_ms=2000) as intake:
        assert (
            await intake.http.post("/v1/feedback", json=feedback("c-warm"), headers=intake.auth)
        ).status_code == 202

        await asyncio.to_thread(throwaway_kafka.stop, ["kafka"])
        ghost = f"c-ghost-{unique}"
        headers = {**intake.auth, "Idempotency-Key": f"down-{unique}"}
        started = time.monotonic()
        refused = await intake.http.post("/v1/feedback", json=feedback(ghost), headers=headers)
        waited = time.monotonic() - started
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "5"
        assert waited < 8, f"503 took {waited:.1f} s"
        assert (await intake.http.get("/readyz")).status_code == 503

        await asyncio.to_thread(throwaway_kafka.start_infra, mongo=False)
        # The app (and its producer) stays up meanwhile: a write still queued would be sent now.
        landed = await records_matching(
            bootstrap,
            "client.events",
            lambda r: json.loads(r.value)["data"]["client_id"] == ghost,
            expected=1,
            within=12.0,
        )
        assert landed == []

        # The 503 released the Idempotency-Key, so the client's retry really retries, and lands once.
        retried = await intake.http.post("/v1/feedback", json=feedback(ghost), headers=headers)
        assert retried.status_code == 202, retried.text
        landed = await records_matching(
            bootstrap,
            "client.events",
            lambda r: json.loads(r.value)["data"]["client_id"] == ghost,
            expected=1,
            settle=1.0,
        )
        assert [json.loads(r.value)["id"] for r in landed] == [retried.json()["id"]]
