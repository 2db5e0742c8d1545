"""Exactly one alert per episode, level and recipient, across a redelivered event and a notify restart."""

import asyncio

import pytest

from shared.auth import Scope
from tests.integration.notify.conftest import Notify, Publisher, rupture
from tests.support.waiting import eventually
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration


async def test_an_alert_pending_at_shutdown_is_sent_once_by_the_next_instance(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    routing = {"therapists": [{"therapist_id": "t-1", "webhook_url": webhook.url}]}
    webhook.failures = [500] * 100  # the receiver is down while the first instance runs
    async with notify.running() as http:
        assert (
            await http.put("/v1/routing", json=routing, headers=notify.key(Scope.ADMIN))
        ).status_code == 200
        event_id = await publish.rupture(notify.clinic_id, rupture(client_id))

        async def attempted() -> bool:
            return len([c for c in webhook.attempts if c.body.get("client_id") == client_id]) >= 2

        await eventually(attempted)
    # Stopped mid-way: the alert is recorded but not delivered.
    [pending] = await notify.deliveries(rupture_id=f"r-{client_id}")
    assert pending["status"] == "pending" and webhook.calls_for(client_id) == []

    webhook.failures.clear()
    async with notify.running():
        await eventually(lambda: len(webhook.calls_for(client_id)) >= 1)
        await publish.rupture(notify.clinic_id, rupture(client_id), event_id=event_id)  # redelivered
        await publish.rupture(notify.clinic_id, rupture(client_id))  # same episode and level, new event
        await asyncio.sleep(2.0)

    assert len(webhook.calls_for(client_id)) == 1
    attempts = [c for c in webhook.attempts if c.body.get("client_id") == client_id]
    assert {c.headers["X-Alliance-Delivery"] for c in attempts} == {pending["_id"]}
    assert [d["status"] for d in await notify.deliveries(rupture_id=f"r-{client_id}")] == ["sent"]
