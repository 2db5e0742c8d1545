"""One clinic's key never writes as, or reads from, another clinic; hostile ids are refused everywhere."""

import json
from typing import Any

import pytest

from tests.integration.feedback.conftest import Intake
from tests.integration.feedback.payloads import feedback, questionnaire_response, session
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration

HOSTILE_IDS = ["$ne", "a.$where", '{"$gt": ""}', "c\x00", "c\n1", "c\u202e1", "", "x" * 65]


async def test_a_body_naming_another_clinic_is_refused(intake: Intake, unique: str) -> None:
    for path, body in (
        ("/v1/feedback", feedback(f"c-{unique}", clinic_id="other-clinic")),
        ("/v1/sessions", session(f"c-{unique}", clinic_id="other-clinic")),
        ("/v1/feedback-links", {**_link(f"c-{unique}"), "clinic_id": "other-clinic"}),
    ):
        answer = await intake.http.post(path, json=body, headers=intake.auth)
        assert answer.status_code == 422, path
        assert ["body", "clinic_id"] in [error["loc"][:2] for error in answer.json()["detail"]]


async def test_every_event_carries_the_clinic_of_the_key(intake: Intake, unique: str) -> None:
    client_id = f"c-{unique}"
    # Whatever else the body says, the tenant comes from the key: a batch item cannot name one either.
    batch = {
        "events": [
            {"type": "feedback.submitted", "data": {**feedback(client_id), "clinicid": "other"}},
            {"type": "feedback.submitted", "data": feedback(client_id)},
        ]
    }
    answer = await intake.http.post("/v1/events:batch", json=batch, headers=intake.auth)
    assert [r["status"] for r in answer.json()["results"]] == ["rejected", "accepted"]
    fhir = await intake.http.post(
        "/v1/fhir/QuestionnaireResponse",
        json=questionnaire_response(client_id, meta={"tag": [{"code": "other-clinic"}]}),
        headers=intake.auth,
    )
    assert fhir.status_code == 202, fhir.text
    records = await records_matching(
        intake.kafka_bootstrap,
        "client.events",
        lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
        expected=2,
        settle=1.0,
    )
    assert len(records) == 2
    assert {json.loads(r.value)["clinicid"] for r in records} == {intake.clinic_id}
    assert {r.key for r in records} == {f"{intake.clinic_id}:{client_id}".encode()}


@pytest.mark.parametrize("hostile", HOSTILE_IDS, ids=[f"id{i}" for i in range(len(HOSTILE_IDS))])
async def test_hostile_ids_are_refused_by_every_endpoint(intake: Intake, hostile: str) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/v1/feedback", feedback(hostile)),
        ("/v1/sessions", session("c-1", session_id=hostile)),
        ("/v1/feedback-links", _link("c-1", therapist_id=hostile)),
        ("/v1/fhir/QuestionnaireResponse", questionnaire_response(hostile)),
        (
            "/v1/fhir/QuestionnaireResponse",
            questionnaire_response("c-1", encounter={"reference": f"Encounter/{hostile}"}),
        ),
    ]
    for path, body in cases:
        answer = await intake.http.post(path, json=body, headers=intake.auth)
        assert answer.status_code == 422, (path, answer.text)
    batch = {"events": [{"type": "session.completed", "data": session(hostile)}]}
    answer = await intake.http.post("/v1/events:batch", json=batch, headers=intake.auth)
    assert answer.json()["results"][0]["errors"][0]["field"] == "data.client_id"


def _link(client_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "therapist_id": "t-1",
        "session_id": "s-1",
        "session_at": "2026-11-20T10:00:00+00:00",
        **changes,
    }
