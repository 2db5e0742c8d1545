"""Routing through the API: who hears about which alert, from which severity, and when (quiet hours)."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from shared.auth import Scope
from shared.contracts import Severity
from tests.integration.notify.conftest import Notify, Publisher, rupture
from tests.support.waiting import eventually
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration


def unrouted(clinic_id: str) -> float:
    return REGISTRY.get_sample_value("alliance_alerts_unrouted_total", {"clinic": clinic_id}) or 0.0


async def test_the_routing_api_needs_an_admin_key_and_never_shows_the_secret(notify: Notify) -> None:
    routing = {"timezone": "Europe/Berlin", "min_severity": "high", "webhook_secret": "s" * 20}
    async with notify.running() as http:
        assert (await http.get("/v1/routing")).status_code == 401
        assert (await http.get("/v1/routing", headers=notify.key(Scope.READ))).status_code == 403
        admin = notify.key(Scope.ADMIN)
        bad = await http.put("/v1/routing", json={"timezone": "Mars/Olympus"}, headers=admin)
        assert bad.status_code == 422
        assert (await http.put("/v1/routing", json=routing, headers=admin)).status_code == 200
        therapist = {"email": "t7@clinic.example", "webhook_url": "https://hooks.example/t7"}
        assert (
            await http.put("/v1/routing/therapists/t-7", json=therapist, headers=admin)
        ).status_code == 200
        stored = (await http.get("/v1/routing", headers=admin)).json()
        other_clinic = (
            await http.get("/v1/routing", headers=notify.key(Scope.ADMIN, clinic_id="other"))
        ).json()
        assert (await http.delete("/v1/routing/therapists/t-8", headers=admin)).status_code == 404

    assert stored["timezone"] == "Europe/Berlin" and stored["min_severity"] == "high"
    assert stored["therapists"] == [
        {
            "therapist_id": "t-7",
            "email": "t7@clinic.example",
            "webhook_url": "https://hooks.example/t7",
            "slack": False,
            "webhook_secrets": None,
            "webhook_secrets_set": 0,
        }
    ]
    assert stored["webhook_secret"] is None and stored["webhook_secret_set"] is True  # kept across the PUT
    assert other_clinic["therapists"] == [] and other_clinic["webhook_secret_set"] is False


async def test_the_threshold_holds_back_lower_alerts_and_unrouted_therapists_reach_supervisors(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    routed, unrouted_client = f"c-a-{unique}", f"c-b-{unique}"
    routing = {
        "min_severity": "high",
        "therapists": [{"therapist_id": "t-1", "webhook_url": f"{webhook.url}/therapist"}],
        "supervisors": [{"supervisor_id": "sup-1", "webhook_url": f"{webhook.url}/supervisor"}],
    }
    async with notify.running() as http:
        assert (
            await http.put("/v1/routing", json=routing, headers=notify.key(Scope.ADMIN))
        ).status_code == 200
        before = unrouted(notify.clinic_id)
        await publish.rupture(notify.clinic_id, rupture(routed, severity=Severity.MEDIUM))
        await publish.rupture(notify.clinic_id, rupture(routed, severity=Severity.HIGH))
        await publish.rupture(
            notify.clinic_id, rupture(unrouted_client, severity=Severity.HIGH, therapist_id="t-9")
        )
        await eventually(
            lambda: len(webhook.calls_for(routed)) >= 1 and len(webhook.calls_for(unrouted_client)) >= 1
        )
        await asyncio.sleep(1.0)  # room for a wrong medium alert

    assert [(c.path, c.body["severity"]) for c in webhook.calls_for(routed)] == [("/hook/therapist", "high")]
    [to_supervisor] = webhook.calls_for(unrouted_client)
    assert to_supervisor.path == "/hook/supervisor" and to_supervisor.body["recipient_kind"] == "supervisor"
    assert unrouted(notify.clinic_id) == before + 1


async def test_quiet_hours_hold_alerts_below_high_until_they_end(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    medium, high = f"c-m-{unique}", f"c-h-{unique}"
    now = datetime.now(UTC)
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    routing = {
        "timezone": "UTC",
        "quiet_hours": {
            "start": start.isoformat(timespec="minutes"),
            "end": end.isoformat(timespec="minutes"),
        },
        "therapists": [{"therapist_id": "t-1", "webhook_url": webhook.url}],
    }
    async with notify.running() as http:
        assert (
            await http.put("/v1/routing", json=routing, headers=notify.key(Scope.ADMIN))
        ).status_code == 200
        await publish.rupture(notify.clinic_id, rupture(medium, severity=Severity.MEDIUM))
        await publish.rupture(notify.clinic_id, rupture(high, severity=Severity.HIGH))
        await eventually(lambda: len(webhook.calls_for(high)) == 1)
        await eventually(lambda: _planned(notify, f"r-{medium}"))
        await asyncio.sleep(1.0)

    assert webhook.calls_for(medium) == []
    [waiting] = await notify.deliveries(rupture_id=f"r-{medium}")
    assert waiting["status"] == "pending" and waiting["attempts"] == 0
    expected_end = datetime.combine(now.date(), end.replace(second=0, microsecond=0), UTC)
    if expected_end < now:
        expected_end += timedelta(days=1)
    assert waiting["due_at"] == expected_end


async def _planned(notify: Notify, rupture_id: str) -> bool:
    return bool(await notify.deliveries(rupture_id=rupture_id))


async def test_a_stale_episode_goes_to_the_supervisors_at_once(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    routing = {
        "therapists": [{"therapist_id": "t-1", "webhook_url": f"{webhook.url}/therapist"}],
        "supervisors": [{"supervisor_id": "sup-1", "webhook_url": f"{webhook.url}/supervisor"}],
    }
    async with notify.running() as http:
        assert (
            await http.put("/v1/routing", json=routing, headers=notify.key(Scope.ADMIN))
        ).status_code == 200
        await publish.rupture(notify.clinic_id, rupture(client_id, severity=Severity.HIGH, stale=True))
        await eventually(lambda: len(webhook.calls_for(client_id)) >= 2)
        await asyncio.sleep(0.5)

    calls = sorted((c.path, c.body["reason"]) for c in webhook.calls_for(client_id))
    assert calls == [("/hook/supervisor", "stale"), ("/hook/therapist", "alert")]
