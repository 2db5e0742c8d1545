"""History is not news: an alert from history is recorded and counted, but sends no e-mail, no webhook and
arms no escalation, while a normal alert next to it is delivered."""

import asyncio

import pytest
from prometheus_client import REGISTRY

from shared.auth import Scope
from shared.contracts import Severity
from tests.integration.notify.conftest import Mailbox, Notify, Publisher, rupture
from tests.support.waiting import eventually
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration


def from_history_count(clinic_id: str) -> float:
    return REGISTRY.get_sample_value("alliance_alerts_from_history_total", {"clinic": clinic_id}) or 0.0


async def test_an_alert_from_history_is_recorded_but_never_pushed(
    notify: Notify, publish: Publisher, smtp: Mailbox, webhook: WebhookReceiver, unique: str
) -> None:
    old, new = f"old-{unique}", f"new-{unique}"
    routing = {
        "therapists": [{"therapist_id": "t-1", "email": "t1@clinic.example", "webhook_url": webhook.url}],
        "supervisors": [
            {"supervisor_id": "sup-1", "email": "sup@clinic.example", "webhook_url": webhook.url}
        ],
    }
    async with notify.running() as http:
        answer = await http.put("/v1/routing", json=routing, headers=notify.key(Scope.ADMIN))
        assert answer.status_code == 200, answer.text
        # A stale high alert from history would otherwise reach therapist and supervisors at once.
        history = rupture(old, severity=Severity.HIGH, stale=True, from_history=True)
        event_id = await publish.rupture(notify.clinic_id, history)
        await publish.rupture(notify.clinic_id, history, event_id=event_id)  # a redelivery
        await publish.rupture(notify.clinic_id, rupture(new, severity=Severity.HIGH))

        async def recorded() -> bool:
            episode = await notify.db["notify_episodes"].find_one({"client_id": old})
            return episode is not None

        await eventually(recorded, what="the alert from history recorded")
        await eventually(lambda: len(webhook.calls_for(new)) >= 1, what="the normal alert's webhook")
        await eventually(lambda: len(smtp.to("t1@clinic.example")) >= 1, what="the normal alert's e-mail")
        await asyncio.sleep(2.0)  # the worker polls every 0.2 s: time enough to send anything it had

    assert webhook.calls_for(old) == [] and len(webhook.calls_for(new)) == 1
    assert [message["To"] for message in smtp.messages] == ["t1@clinic.example"]  # the normal alert's only
    assert await notify.deliveries(rupture_id=f"r-{old}") == []
    assert len(await notify.deliveries(rupture_id=f"r-{new}")) == 2
    episode = await notify.db["notify_episodes"].find_one({"client_id": old})
    assert episode is not None and episode["escalate_at"] is None
    assert episode["rupture"]["from_history"] is True
    assert [(a["event_id"], a["from_history"], a["stale"]) for a in episode["alerts"]] == [
        (event_id, True, True)
    ]
    assert from_history_count(notify.clinic_id) == 1.0  # the redelivery is not counted again
    live = await notify.db["notify_episodes"].find_one({"client_id": new})
    assert live is not None and live["escalate_at"] is not None
    assert [a["from_history"] for a in live["alerts"]] == [False]
