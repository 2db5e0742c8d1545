"""The feedback service's HTTP intake against the real Kafka and MongoDB."""

import asyncio
import json
from typing import Any

import pytest

from services.feedback.admin import issue_key
from shared import topics
from shared.auth import Scope
from shared.clinic_keys import publish_key
from shared.contracts import FEEDBACK_SUBMITTED, SESSION_COMPLETED
from shared.messaging import make_broker
from tests.integration.feedback.conftest import Intake
from tests.integration.feedback.payloads import feedback, session
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration


async def test_accepted_feedback_is_in_kafka_with_the_clinic_from_the_key(
    intake: Intake, unique: str
) -> None:
    client_id = f"c-{unique}"
    answer = await intake.http.post(
        "/v1/feedback", json=feedback(client_id), headers={"Authorization": f"Bearer {intake.api_key}"}
    )
    assert answer.status_code == 202, answer.text
    event_id = answer.json()["id"]

    records = await records_matching(
        intake.kafka_bootstrap,
        topics.CLIENT_EVENTS.name,
        lambda r: json.loads(r.value)["id"] == event_id,
        expected=1,
    )

    assert len(records) == 1
    assert records[0].key == f"{intake.clinic_id}:{client_id}".encode()
    event = FEEDBACK_SUBMITTED.decode(records[0].value)
    assert event.clinicid == intake.clinic_id
    assert event.data.client_id == client_id
    assert event.data.items["goals"] == 8.4
    assert event.data.submitted_at is not None  # set by the server


async def test_accepted_session_is_in_kafka(intake: Intake, unique: str) -> None:
    answer = await intake.http.post(
        "/v1/sessions", json=session(f"c-{unique}"), headers={"Authorization": f"Bearer {intake.api_key}"}
    )
    assert answer.status_code == 202, answer.text
    event_id = answer.json()["id"]
    records = await records_matching(
        intake.kafka_bootstrap,
        topics.CLIENT_EVENTS.name,
        lambda r: json.loads(r.value)["id"] == event_id,
        expected=1,
    )
    assert [SESSION_COMPLETED.decode(r.value).data.attendance.value for r in records] == ["attended"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-key-0000000000", "Basic dXNlcjpwYXNz", "Bearer "],
    ids=["none", "wrong", "basic", "empty"],
)
async def test_a_missing_or_wrong_key_gets_401(
    intake: Intake, unique: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = await intake.http.post("/v1/feedback", json=feedback(f"c-{unique}"), headers=headers)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"items": {"relationship": 11, "goals": 8, "approach": 8, "overall": 8}}, ["body", "items"]),
        ({"instrument": "phq9"}, ["body", "instrument"]),
        ({"client_id": "$ne"}, ["body", "client_id"]),
        ({"session_at": "yesterday"}, ["body", "session_at"]),
        ({"respondent": "parent"}, ["body", "respondent"]),
        ({"comment": "x" * 2001}, ["body", "comment"]),
    ],
    ids=["item-range", "instrument", "operator-id", "timestamp", "respondent", "comment-length"],
)
async def test_a_bad_payload_gets_422_naming_the_field(
    intake: Intake, unique: str, changes: dict[str, Any], field: list[str]
) -> None:
    answer = await intake.http.post(
        "/v1/feedback",
        json=feedback(f"c-{unique}", **changes),
        headers={"Authorization": f"Bearer {intake.api_key}"},
    )
    assert answer.status_code == 422
    locations = [error["loc"][: len(field)] for error in answer.json()["detail"]]
    assert field in locations


async def test_a_revoked_key_fails_within_seconds(intake: Intake, unique: str) -> None:
    headers = {"Authorization": f"Bearer {intake.api_key}"}
    assert (
        await intake.http.post("/v1/feedback", json=feedback(f"c-{unique}"), headers=headers)
    ).status_code == 202

    await publish_revocation(intake)

    status_codes = []
    for _ in range(50):  # at most 5 s
        answer = await intake.http.post("/v1/feedback", json=feedback(f"c-{unique}"), headers=headers)
        status_codes.append(answer.status_code)
        if answer.status_code == 401:
            break
        await asyncio.sleep(0.1)
    assert status_codes[-1] == 401, status_codes


async def test_a_key_without_the_ingest_scope_gets_403(intake: Intake, unique: str) -> None:
    read_only = f"read-only-{unique}-0123456789"
    await issue_key(intake.settings, intake.clinic_id, read_only, frozenset({Scope.READ}))
    for _ in range(50):
        answer = await intake.http.post(
            "/v1/feedback", json=feedback(f"c-{unique}"), headers={"Authorization": f"Bearer {read_only}"}
        )
        if answer.status_code != 401:  # the new key may need a moment to arrive
            break
        await asyncio.sleep(0.1)
    assert answer.status_code == 403
    assert "ingest" in answer.json()["detail"]


async def publish_revocation(intake: Intake) -> None:
    broker = make_broker(intake.settings, "test")
    await broker.connect()
    try:
        await publish_key(broker, intake.clinic_id, intake.api_key, frozenset({Scope.INGEST}), revoked=True)
    finally:
        await broker.stop()


@pytest.mark.parametrize(
    ("items", "words"),
    [
        ({"tension": 1}, "items.intensity: required when tension is 1"),
        (
            {"tension": 0, "intensity": 4, "resolution": 2},
            "items.intensity: must be absent when tension is 0",
        ),
    ],
    ids=["tension-without-intensity", "intensity-without-tension"],
)
async def test_an_inconsistent_rupture_report_gets_422_saying_why(
    intake: Intake, unique: str, items: dict[str, Any], words: str
) -> None:
    answer = await intake.http.post(
        "/v1/feedback",
        json=feedback(f"c-{unique}", instrument="psq", respondent="therapist", items=items),
        headers={"Authorization": f"Bearer {intake.api_key}"},
    )
    assert answer.status_code == 422, answer.text
    assert words in json.dumps(answer.json()["detail"])


async def test_a_rupture_report_is_accepted(intake: Intake, unique: str) -> None:
    body = feedback(f"c-{unique}", instrument="psq", items={"tension": 1, "intensity": 4, "resolution": 2})
    answer = await intake.http.post(
        "/v1/feedback", json=body, headers={"Authorization": f"Bearer {intake.api_key}"}
    )
    assert answer.status_code == 202, answer.text
    records = await records_matching(
        intake.kafka_bootstrap,
        topics.CLIENT_EVENTS.name,
        lambda r: json.loads(r.value)["id"] == answer.json()["id"],
        expected=1,
    )
    event = FEEDBACK_SUBMITTED.decode(records[0].value)
    assert (event.data.instrument.value, event.data.items["intensity"]) == ("psq", 4.0)
