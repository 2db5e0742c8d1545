"""Escalation of unacknowledged alerts, and acknowledgement by signed link or API."""

import asyncio
import json
from datetime import UTC, datetime

import httpx
import pytest

from shared import topics
from shared.auth import Scope
from shared.contracts import RUPTURE_ACKNOWLEDGED, RuptureAcknowledgedV1
from tests.integration.notify.conftest import Notify, Publisher, rupture
from tests.support.kafka import records_matching
from tests.support.waiting import eventually
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration


def routing(url: str, deadline_seconds: float) -> dict[str, object]:
    return {
        "ack_deadline_hours": deadline_seconds / 3600,
        "therapists": [{"therapist_id": "t-1", "webhook_url": f"{url}/therapist"}],
        "supervisors": [{"supervisor_id": "sup-1", "webhook_url": f"{url}/supervisor"}],
    }


async def alerted(
    http: httpx.AsyncClient,
    notify: Notify,
    publish: Publisher,
    webhook: WebhookReceiver,
    client_id: str,
    deadline_seconds: float,
) -> None:
    """Route the clinic's alerts to the receiver (therapist and supervisor, acknowledgement due after
    ``deadline_seconds``), raise a rupture for ``client_id`` and wait until the therapist has its alert."""
    answer = await http.put(
        "/v1/routing", json=routing(webhook.url, deadline_seconds), headers=notify.key(Scope.ADMIN)
    )
    assert answer.status_code == 200
    await publish.rupture(notify.clinic_id, rupture(client_id))
    await eventually(lambda: len(webhook.calls_for(client_id)) >= 1)


def to_supervisor(webhook: WebhookReceiver, client_id: str) -> list[str]:
    return [c.body["reason"] for c in webhook.calls_for(client_id) if c.path == "/hook/supervisor"]


async def test_an_alert_nobody_acknowledges_escalates_to_the_supervisors_once(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    async with notify.running() as http:
        await alerted(http, notify, publish, webhook, client_id, deadline_seconds=2.0)
        assert to_supervisor(webhook, client_id) == []
        await eventually(lambda: len(to_supervisor(webhook, client_id)) >= 1, within=10.0)
        await asyncio.sleep(1.5)

    assert to_supervisor(webhook, client_id) == ["escalation"]
    escalation = next(c for c in webhook.calls_for(client_id) if c.path == "/hook/supervisor")
    assert escalation.body["summary"] == f"Unacknowledged medium rupture: client {client_id} (therapist t-1)"


async def test_acknowledging_through_the_link_stops_the_escalation_and_publishes_one_event(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    async with notify.running() as http:
        await alerted(http, notify, publish, webhook, client_id, deadline_seconds=4.0)
        link = webhook.calls_for(client_id)[0].body["acknowledge_url"].removeprefix("http://notify")

        page = await http.get(link)
        assert page.status_code == 200 and '<form method="post">' in page.text
        first, second = await http.post(link), await http.post(link)  # a double click
        assert first.status_code == second.status_code == 200
        assert (await http.get(link[:-3] + "xyz")).status_code == 404  # a tampered token
        acknowledged = await records_matching(
            notify.bootstrap,
            topics.RUPTURE_ACKNOWLEDGED.name,
            lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
            expected=1,
            within=8.0,
            settle=5.0,  # also outlasts the 4 s deadline
        )

    assert to_supervisor(webhook, client_id) == []
    [record] = acknowledged
    event = RUPTURE_ACKNOWLEDGED.decode(record.value)
    assert event.clinicid == notify.clinic_id
    assert (event.data.via, event.data.acknowledged_by, event.data.rupture_id) == (
        "link",
        "t-1",
        f"r-{client_id}",
    )


async def test_acknowledging_through_the_api_needs_a_read_or_admin_key_of_the_clinic(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    path, body = f"/v1/ruptures/r-{client_id}/acknowledge", {"acknowledged_by": "t-1"}
    async with notify.running() as http:
        await alerted(http, notify, publish, webhook, client_id, deadline_seconds=3.0)

        assert (await http.post(path, json=body, headers=notify.key(Scope.INGEST))).status_code == 403
        foreign = await http.post(
            path, json=body, headers=notify.key(Scope.READ, clinic_id=f"other-{unique}")
        )
        assert foreign.status_code == 404
        done = await http.post(path, json=body, headers=notify.key(Scope.READ))
        again = await http.post(path, json={"acknowledged_by": "t-2"}, headers=notify.key(Scope.ADMIN))
        await asyncio.sleep(4.0)  # past the deadline

    assert done.status_code == 200 and again.status_code == 200
    assert again.json() == done.json()  # the first acknowledgement stands; one event id
    assert to_supervisor(webhook, client_id) == []


async def test_an_acknowledgement_made_in_another_service_stops_the_escalation(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    async with notify.running() as http:
        await alerted(http, notify, publish, webhook, client_id, deadline_seconds=4.0)
        await publish.acknowledgement(
            notify.clinic_id,
            RuptureAcknowledgedV1(
                rupture_id=f"r-{client_id}",
                therapist_id="t-1",
                client_id=client_id,
                acknowledged_by="t-1",
                acknowledged_at=datetime.now(UTC),
                via="link",
            ),
        )
        await asyncio.sleep(6.0)  # past the 4 s deadline

    assert to_supervisor(webhook, client_id) == []
