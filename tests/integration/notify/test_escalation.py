"""Escalation of unacknowledged alerts, and acknowledgement by signed link or API, with the optional 3RS tags
(rupture type, repair strategies) that ``rupture.acknowledged`` v2 carries."""

import asyncio
import json
from datetime import UTC, datetime
from html import escape

import httpx
import pytest

from shared import topics
from shared.auth import Scope
from shared.contracts import RUPTURE_ACKNOWLEDGED, CloudEvent, RuptureAcknowledgedV2
from shared.repair import STRATEGY_WORDS, TYPE_WORDS, RepairStrategy, RuptureType
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


async def acknowledgements_published(
    notify: Notify, client_id: str, *, within: float = 8.0, settle: float = 2.0
) -> list[CloudEvent[RuptureAcknowledgedV2]]:
    """The ``rupture.acknowledged`` events of the client's episode on the topic, each checked to be on the wire
    as version 2 (decoding alone would upcast a version 1)."""
    records = await records_matching(
        notify.bootstrap,
        topics.RUPTURE_ACKNOWLEDGED.name,
        lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
        expected=1,
        within=within,
        settle=settle,
    )
    for record in records:
        assert json.loads(record.value)["type"].endswith("rupture.acknowledged.v2")
    return [RUPTURE_ACKNOWLEDGED.decode(record.value) for record in records]


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
        acknowledged = await acknowledgements_published(
            notify,
            client_id,
            settle=5.0,  # also outlasts the 4 s deadline
        )

    assert to_supervisor(webhook, client_id) == []
    [event] = acknowledged
    assert event.clinicid == notify.clinic_id
    assert (event.data.via, event.data.acknowledged_by, event.data.rupture_id) == (
        "link",
        "t-1",
        f"r-{client_id}",
    )
    assert (event.data.rupture_type, event.data.strategies) == (None, [])  # nothing ticked: untagged


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


async def test_an_acknowledgement_made_in_the_client_view_stops_the_escalation_and_its_tags_stand(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    async with notify.running() as http:
        await alerted(http, notify, publish, webhook, client_id, deadline_seconds=4.0)
        await publish.acknowledgement(
            notify.clinic_id,
            RuptureAcknowledgedV2(
                rupture_id=f"r-{client_id}",
                therapist_id="t-1",
                client_id=client_id,
                acknowledged_by="t-1",
                acknowledged_at=datetime.now(UTC),
                via="view",
                rupture_type=RuptureType.BOTH,
                strategies=[RepairStrategy.VALIDATE_DEFENSIVENESS],
            ),
        )

        async def taken() -> bool:
            episode = await notify.db["notify_episodes"].find_one({"rupture_id": f"r-{client_id}"})
            return episode is not None and episode.get("acknowledged_at") is not None

        await eventually(taken, what="the view's acknowledgement reaches notify")
        later = await http.post(
            f"/v1/ruptures/r-{client_id}/acknowledge",
            json={"acknowledged_by": "t-2", "rupture_type": "withdrawal"},
            headers=notify.key(Scope.READ),
        )
        await asyncio.sleep(5.0)  # past the 4 s deadline

    assert to_supervisor(webhook, client_id) == []
    assert later.status_code == 200
    answer = later.json()
    assert (answer["acknowledged_by"], answer["rupture_type"], answer["strategies"]) == (
        "t-1",
        "both",
        ["validate_defensiveness"],
    )


async def test_tags_given_through_the_api_are_published_and_the_first_ones_stand(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    path = f"/v1/ruptures/r-{client_id}/acknowledge"
    tagged = {
        "acknowledged_by": "t-1",
        "rupture_type": "withdrawal",
        "strategies": ["invite_discussion", "acknowledge_own_part"],
    }
    async with notify.running() as http:
        await alerted(http, notify, publish, webhook, client_id, deadline_seconds=60.0)
        done = await http.post(path, json=tagged, headers=notify.key(Scope.READ))
        again = await http.post(
            path,
            json={"acknowledged_by": "t-2", "rupture_type": "confrontation", "strategies": ["redirect"]},
            headers=notify.key(Scope.READ),
        )
        published = await acknowledgements_published(notify, client_id)

    assert done.status_code == 200
    assert (done.json()["rupture_type"], done.json()["strategies"]) == (
        "withdrawal",
        ["invite_discussion", "acknowledge_own_part"],
    )
    assert again.status_code == 200 and again.json() == done.json()  # the second one's tags are not kept
    [event] = published
    assert event.id == done.json()["event_id"]
    assert (event.data.via, event.data.acknowledged_by, event.data.rupture_type, event.data.strategies) == (
        "api",
        "t-1",
        RuptureType.WITHDRAWAL,
        [RepairStrategy.INVITE_DISCUSSION, RepairStrategy.ACKNOWLEDGE_OWN_PART],
    )


async def test_an_unknown_or_repeated_strategy_is_refused_by_name_and_records_nothing(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    path, key = f"/v1/ruptures/r-{client_id}/acknowledge", notify.key(Scope.READ)
    async with notify.running() as http:
        await alerted(http, notify, publish, webhook, client_id, deadline_seconds=60.0)
        unknown = await http.post(
            path, json={"acknowledged_by": "t-1", "strategies": ["redirect", "bribe"]}, headers=key
        )
        repeated = await http.post(
            path, json={"acknowledged_by": "t-1", "strategies": ["redirect", "redirect"]}, headers=key
        )
        nothing = await acknowledgements_published(notify, client_id, within=3.0)
        untagged = await http.post(path, json={"acknowledged_by": "t-2"}, headers=key)
        published = await acknowledgements_published(notify, client_id)

    assert unknown.status_code == 422
    [error] = unknown.json()["detail"]
    assert (error["loc"], error["input"]) == (["body", "strategies", 1], "bribe")
    assert all(f"'{strategy}'" in error["msg"] for strategy in RepairStrategy)  # the allowed values
    assert repeated.status_code == 422
    assert "each strategy at most once" in repeated.json()["detail"][0]["msg"]
    assert nothing == []
    # Had a refused request recorded anything, this one would be answered with its acknowledgement.
    assert untagged.status_code == 200 and untagged.json()["acknowledged_by"] == "t-2"
    [event] = published
    assert (event.data.acknowledged_by, event.data.rupture_type, event.data.strategies) == ("t-2", None, [])


async def test_the_link_page_offers_the_tags_and_its_button_publishes_them(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    async with notify.running() as http:
        await alerted(http, notify, publish, webhook, client_id, deadline_seconds=60.0)
        link = webhook.calls_for(client_id)[0].body["acknowledge_url"].removeprefix("http://notify")
        page = await http.get(link)
        tampered = await http.post(link, data={"rupture_type": "sulking", "strategies": ["redirect"]})
        nothing = await acknowledgements_published(notify, client_id, within=3.0)
        done = await http.post(
            link, data={"rupture_type": "confrontation", "strategies": ["explain_rationale", "redirect"]}
        )
        again = await http.post(link, data={"rupture_type": "withdrawal"})
        published = await acknowledgements_published(notify, client_id)

    assert page.status_code == 200
    assert "<legend>Type of rupture (optional)</legend>" in page.text
    assert "<legend>Repair strategies used (optional)</legend>" in page.text
    assert page.text.count('type="radio" name="rupture_type"') == len(RuptureType) + 1  # and "not named"
    assert page.text.count('type="checkbox" name="strategies"') == len(RepairStrategy)
    assert all(escape(words) in page.text for words in [*TYPE_WORDS.values(), *STRATEGY_WORDS.values()])
    assert tampered.status_code == 422
    assert "Nothing was recorded" in tampered.text and "“sulking” is not a type of rupture" in tampered.text
    assert nothing == []
    assert done.status_code == 200 and "Thank you" in done.text
    assert escape(TYPE_WORDS[RuptureType.CONFRONTATION]) in done.text
    # The second click's "withdrawal" is not kept: it is answered with the first click's tags.
    assert again.status_code == 200 and again.text == done.text
    [event] = published
    assert (event.data.via, event.data.rupture_type, event.data.strategies) == (
        "link",
        RuptureType.CONFRONTATION,
        [RepairStrategy.EXPLAIN_RATIONALE, RepairStrategy.REDIRECT],
    )
