"""POST /v1/events:batch: each item answered on its own; accepted items are in Kafka before the answer."""

import json
from typing import Any

import pytest

from tests.integration.feedback.conftest import Intake
from tests.integration.feedback.payloads import feedback, session
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration


async def test_valid_items_are_accepted_and_bad_ones_rejected_naming_the_field(
    intake: Intake, unique: str
) -> None:
    client_id = f"c-{unique}"
    events: list[dict[str, Any]] = [
        {"type": "session.completed", "data": session(client_id)},
        {"type": "feedback.submitted", "data": feedback(client_id)},
        {
            "type": "feedback.submitted",
            "data": feedback(
                client_id,
                respondent="therapist",
                instrument="ors",
                items={"individual": 5, "interpersonal": 6.5, "social": 7, "overall": 6},
            ),
        },
        {
            "type": "feedback.submitted",
            "data": feedback(client_id, items={"relationship": 11, "goals": 8, "approach": 8, "overall": 8}),
        },
        {"type": "session.completed", "data": session(client_id, client_id="$gt")},
        {"type": "rupture.suspected", "data": {}},
    ]
    answer = await intake.http.post("/v1/events:batch", json={"events": events}, headers=intake.auth)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["rejected"], body["unavailable"]) == (3, 3, 0)
    statuses = [result["status"] for result in body["results"]]
    assert statuses == ["accepted"] * 3 + ["rejected"] * 3
    assert [e["field"] for e in body["results"][3]["errors"]] == ["data.items"]
    assert [e["field"] for e in body["results"][4]["errors"]] == ["data.client_id"]
    assert body["results"][5]["errors"][0]["field"] == "type"

    accepted_ids = {result["id"] for result in body["results"][:3]}
    # Acknowledged before the answer: all three are readable right away, on one partition in request order.
    records = await records_matching(
        intake.kafka_bootstrap,
        "client.events",
        lambda r: json.loads(r.value)["id"] in accepted_ids,
        expected=3,
    )
    assert [json.loads(r.value)["id"] for r in records] == [result["id"] for result in body["results"][:3]]
    assert [json.loads(r.value)["type"] for r in records] == [
        "org.alliance.session.completed.v1",
        "org.alliance.feedback.submitted.v2",
        "org.alliance.feedback.submitted.v2",
    ]
    assert {json.loads(r.value)["clinicid"] for r in records} == {intake.clinic_id}
    assert {r.key for r in records} == {f"{intake.clinic_id}:{client_id}".encode()}


async def test_500_items_in_one_call(intake: Intake, unique: str) -> None:
    client_id = f"c-{unique}"
    events = [
        {"type": "session.completed", "data": session(client_id, session_id=f"s-{i}")} for i in range(500)
    ]
    answer = await intake.http.post("/v1/events:batch", json={"events": events}, headers=intake.auth)
    assert answer.status_code == 200
    assert answer.json()["accepted"] == 500
    records = await records_matching(
        intake.kafka_bootstrap,
        "client.events",
        lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
        expected=500,
    )
    assert len(records) == 500


async def test_more_than_500_items_or_none_is_refused(intake: Intake) -> None:
    too_many = [{"type": "session.completed", "data": session("c-1")}] * 501
    for events in (too_many, []):
        answer = await intake.http.post("/v1/events:batch", json={"events": events}, headers=intake.auth)
        assert answer.status_code == 422
        assert ["body", "events"] in [error["loc"] for error in answer.json()["detail"]]


async def test_a_retried_batch_with_the_same_idempotency_key_makes_each_event_once(
    intake: Intake, unique: str
) -> None:
    client_id = f"c-{unique}"
    events = [
        {"type": "feedback.submitted", "data": feedback(client_id, session_id=f"s-{i}")} for i in range(3)
    ]
    headers = {**intake.auth, "Idempotency-Key": f"batch-{unique}"}
    first = await intake.http.post("/v1/events:batch", json={"events": events}, headers=headers)
    again = await intake.http.post("/v1/events:batch", json={"events": events}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    records = await records_matching(
        intake.kafka_bootstrap,
        "client.events",
        lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
        expected=3,
        settle=1.0,
    )
    assert len(records) == 3
