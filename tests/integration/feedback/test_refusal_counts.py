"""Every refused write counts once in alliance_feedback_rejected_total, under its reason; an accepted one and a
read count nowhere."""

import pytest
from prometheus_client import REGISTRY

from services.feedback.body_limit import ONE_EVENT_LIMIT
from tests.integration.feedback.conftest import Intake
from tests.integration.feedback.payloads import feedback

pytestmark = pytest.mark.integration

REASONS = ("unauthorized", "too_large", "invalid", "forbidden", "conflict", "rate_limited", "unavailable")


def counts() -> dict[str, float]:
    return {
        reason: REGISTRY.get_sample_value("alliance_feedback_rejected_total", {"reason": reason}) or 0.0
        for reason in REASONS
    }


async def test_each_refusal_counts_once_under_its_reason(intake: Intake, unique: str) -> None:
    before = counts()

    unauthorized = await intake.http.post("/v1/feedback", json=feedback(f"c-{unique}"))
    too_large = await intake.http.post(
        "/v1/feedback", content=b"x" * (ONE_EVENT_LIMIT + 1), headers=intake.auth
    )
    invalid = await intake.http.post("/v1/feedback", json={"client_id": f"c-{unique}"}, headers=intake.auth)
    accepted = await intake.http.post("/v1/feedback", json=feedback(f"c-{unique}"), headers=intake.auth)
    read = await intake.http.get("/v1/does-not-exist", headers=intake.auth)

    assert [unauthorized.status_code, too_large.status_code, invalid.status_code] == [401, 413, 422]
    assert accepted.status_code == 202, accepted.text
    assert read.status_code == 404
    changed = {
        reason: count - before[reason] for reason, count in counts().items() if count != before[reason]
    }
    assert changed == {"unauthorized": 1.0, "too_large": 1.0, "invalid": 1.0}
