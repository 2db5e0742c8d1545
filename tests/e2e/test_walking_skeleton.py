"""All three services as real processes, real Kafka and MongoDB, a real webhook receiver."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.conftest import Platform

pytestmark = pytest.mark.e2e
# Yesterday: a session older than the push horizon (14 days) would be history, recorded but not pushed.
SESSION_AT = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat()


def srs(
    client_id: str, session_id: str, total_of_four: tuple[float, float, float, float]
) -> dict[str, object]:
    relationship, goals, approach, overall = total_of_four
    return {
        "session_id": session_id,
        "therapist_id": "t-1",
        "client_id": client_id,
        "session_at": SESSION_AT,
        "instrument": "srs",
        "respondent": "client",
        "items": {"relationship": relationship, "goals": goals, "approach": approach, "overall": overall},
        "comment": "the therapist seemed distracted",
    }


async def wait_for_calls(platform: Platform, client_id: str, count: int, within: float) -> float | None:
    """Seconds until ``count`` webhook calls for ``client_id`` arrived, or None after ``within`` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if len(platform.webhook.calls_for(client_id)) >= count:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    return None


async def test_a_low_srs_total_alerts_once_and_a_high_one_never(platform: Platform, unique: str) -> None:
    high, low = f"c-high-{unique}", f"c-low-{unique}"
    async with httpx.AsyncClient(base_url=platform.feedback_url, headers=platform.auth) as http:
        answer_high = await http.post("/v1/feedback", json=srs(high, f"s-h-{unique}", (10.0, 10.0, 9.5, 9.5)))
        answer_low = await http.post("/v1/feedback", json=srs(low, f"s-l-{unique}", (7.5, 7.5, 7.5, 7.5)))
    assert answer_high.status_code == 202, answer_high.text
    assert answer_low.status_code == 202, answer_low.text

    elapsed = await wait_for_calls(platform, low, 1, within=10.0)
    assert elapsed is not None, "no webhook call within 10 s for an SRS total of 30"
    await asyncio.sleep(2.0)  # room for a duplicate or a wrong alert to show up

    calls = platform.webhook.calls_for(low)
    assert len(calls) == 1
    alert = calls[0].body
    assert alert["severity"] in {"medium", "high"}
    assert alert["srs_total"] == 30.0
    assert "below_cutoff" in {marker["code"] for marker in alert["markers"]}
    assert alert["clinic_id"] == platform.clinic_id
    assert "distracted" not in calls[0].raw, "the client's comment must never leave the database"
    assert platform.webhook.calls_for(high) == []


async def test_services_report_health_readiness_and_metrics(platform: Platform) -> None:
    async with httpx.AsyncClient() as http:
        for url in platform.service_urls:
            assert (await http.get(f"{url}/healthz")).json() == {"status": "alive"}
            ready = await http.get(f"{url}/readyz")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {"kafka": "ok", "mongodb": "ok"}
            metrics = await http.get(f"{url}/metrics")
            assert metrics.status_code == 200
            assert "process_resident_memory_bytes" in metrics.text
