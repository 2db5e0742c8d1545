"""Webhook alerts: signed, deduplicable, retried through a failing receiver, reported when they fail for good."""

import asyncio
import json

import httpx
import pytest
from standardwebhooks import Webhook

from services.notify.webhook_secrets import verifier_secret
from shared import topics
from shared.auth import Scope
from shared.contracts import NOTIFICATION_FAILED, NOTIFICATION_SENT, Severity
from tests.integration.notify.conftest import Notify, Publisher, rupture, verify, view_link_in
from tests.support.kafka import records_matching
from tests.support.waiting import eventually
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration
SECRET = "clinic-secret-0123456789abcdef"


async def route_to_webhook(http: httpx.AsyncClient, notify: Notify, url: str, slack: bool = False) -> None:
    routing = {
        "therapists": [{"therapist_id": "t-1", "webhook_url": url, "slack": slack}],
        "webhook_secret": SECRET,
    }
    answer = await http.put("/v1/routing", json=routing, headers=notify.key(Scope.ADMIN))
    assert answer.status_code == 200, answer.text
    assert answer.json()["webhook_secret_set"] is True and answer.json()["webhook_secret"] is None


async def test_a_routed_alert_is_signed_and_sent_once(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    async with notify.running() as http:
        await route_to_webhook(http, notify, webhook.url)
        event_id = await publish.rupture(notify.clinic_id, rupture(client_id))
        await publish.rupture(notify.clinic_id, rupture(client_id), event_id=event_id)  # a redelivery
        await eventually(lambda: len(webhook.calls_for(client_id)) >= 1)
        sent = await records_matching(
            notify.bootstrap,
            topics.NOTIFICATION_SENT.name,
            lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
            expected=1,
            settle=1.5,
        )

    [call] = webhook.calls_for(client_id)
    print(f"\n--- webhook headers: {call.headers}\n--- body:\n{json.dumps(call.body, indent=2)}")
    assert verify(call, SECRET)
    assert not verify(call, "another-secret-0123456789")
    # The clinic's plain secret signs the Standard Webhooks headers too, under its whsec_ form.
    assert Webhook(verifier_secret(SECRET)).verify(call.raw, call.headers) == call.body
    body = call.body
    assert call.header("webhook-id") == call.headers["X-Alliance-Delivery"] == body["delivery_id"]
    assert (
        body["severity"] == "medium" and body["recipient_kind"] == "therapist" and body["reason"] == "alert"
    )
    assert body["markers"][0]["description"] == (
        "SRS total 31, below the clinic's cutoff of 36; 6 points under this client's usual 37"
    )
    assert body["dimension"] == "bond"
    view = view_link_in(body["dashboard_url"], notify)
    assert (view.clinic_id, view.view, view.subject, view.therapist_id) == (
        notify.clinic_id,
        "client",
        client_id,
        "t-1",
    )
    assert body["acknowledge_url"].startswith("http://notify/v1/acknowledgements/")
    [record] = sent
    audit = NOTIFICATION_SENT.decode(record.value).data
    assert (audit.channel, audit.recipient_kind, audit.attempts) == ("webhook", "therapist", 1)
    assert audit.delivery_id == body["delivery_id"]


async def test_without_routing_alerts_go_to_the_fallback_webhook_signed_with_the_default_secret(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    async with notify.running(webhook_url=webhook.url):
        await publish.rupture(notify.clinic_id, rupture(client_id, severity=Severity.LOW))
        await publish.rupture(notify.clinic_id, rupture(client_id, severity=Severity.HIGH))
        await eventually(lambda: len(webhook.calls_for(client_id)) >= 1)
        await asyncio.sleep(1.0)  # room for the low alert to show up, if it wrongly would

    calls = webhook.calls_for(client_id)
    assert [call.body["severity"] for call in calls] == ["high"]  # low is under the default threshold
    assert verify(calls[0], notify.settings.webhook_secret.get_secret_value())


async def test_a_webhook_answering_500_three_times_gets_the_alert_on_the_fourth_attempt(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    webhook.failures = [500, 500, 500]
    async with notify.running() as http:
        await route_to_webhook(http, notify, webhook.url)
        await publish.rupture(notify.clinic_id, rupture(client_id))
        await eventually(lambda: len(webhook.calls_for(client_id)) >= 1)
        sent = await records_matching(
            notify.bootstrap,
            topics.NOTIFICATION_SENT.name,
            lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
            expected=1,
            settle=1.0,
        )

    attempts = [call for call in webhook.attempts if call.body.get("client_id") == client_id]
    assert [call.status for call in attempts] == [500, 500, 500, 200]
    assert len({call.header("webhook-id") for call in attempts}) == 1  # one id: receivers can dedupe
    assert len({call.headers["X-Alliance-Delivery"] for call in attempts}) == 1
    assert len(sent) == 1 and NOTIFICATION_SENT.decode(sent[0].value).data.attempts == 4


async def test_a_delivery_that_never_succeeds_is_reported_failed_and_dead_lettered(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    webhook.failures = [503] * 50
    async with notify.running(delivery_attempts=3) as http:
        await route_to_webhook(http, notify, webhook.url)
        await publish.rupture(notify.clinic_id, rupture(client_id))
        failed = await records_matching(
            notify.bootstrap,
            topics.NOTIFICATION_FAILED.name,
            lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
            expected=1,
            within=15.0,
            settle=1.0,
        )

    assert len(failed) == 1
    report = NOTIFICATION_FAILED.decode(failed[0].value).data
    assert (report.attempts, report.channel, report.error) == (3, "webhook", "webhook answered 503")
    assert len([c for c in webhook.attempts if c.body.get("client_id") == client_id]) == 3
    [delivery] = await notify.deliveries(rupture_id=f"r-{client_id}")
    assert delivery["status"] == "failed"
    assert await notify.db["notify_dead_letters"].count_documents({"_id": delivery["_id"]}) == 1


async def test_a_slack_webhook_gets_text_and_blocks(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    async with notify.running() as http:
        await route_to_webhook(http, notify, webhook.url, slack=True)
        await publish.rupture(notify.clinic_id, rupture(client_id, severity=Severity.HIGH))
        await eventually(lambda: any(client_id in call.raw for call in webhook.calls))

    [call] = [call for call in webhook.calls if client_id in call.raw]
    assert call.body["text"].startswith(f"High rupture suspected: client {client_id}")
    assert [block["type"] for block in call.body["blocks"]] == ["header", "section", "section", "actions"]
    assert verify(call, SECRET)
