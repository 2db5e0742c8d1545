"""Goals and goal ratings through every way in: REST, batch and FHIR, each landing on client.events with its
content, and refused with the field named when invalid."""

import json
from typing import Any

import pytest
from aiokafka import ConsumerRecord

from shared.contracts import FEEDBACK_SUBMITTED, GOAL_CLOSED, GOALS_AGREED
from tests.integration.feedback.conftest import Intake, ServiceLog, is_sealed, opened
from tests.integration.feedback.payloads import feedback, goal_closing, goals, questionnaire_response
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration
FHIR_PATH = "/v1/fhir/QuestionnaireResponse"
GBO_QUESTIONNAIRE = "https://alliance-platform.org/fhir/Questionnaire/gbo"


async def landed(
    intake: Intake, client_id: str, expected: int, settle: float = 0.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """The records of ``client_id`` on client.events, in partition order."""
    records = await records_matching(
        intake.kafka_bootstrap,
        "client.events",
        lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
        expected=expected,
        settle=settle,
    )
    return sorted(records, key=lambda r: (r.partition, r.offset))


def problem_fields(answer: Any) -> list[str]:
    return [".".join(str(part) for part in problem["loc"]) for problem in answer.json()["detail"]]


async def test_goals_agreed_land_on_client_events_with_their_texts_in_order(
    intake: Intake, unique: str, service_log: ServiceLog
) -> None:
    client_id = f"c-{unique}"
    texts = (
        f"Sleep through most nights {unique}",
        "Tell my manager when it is too much",
        "Play football again",
    )
    answer = await intake.http.post("/v1/goals", json=goals(client_id, *texts), headers=intake.auth)

    assert answer.status_code == 202, answer.text
    [record] = await landed(intake, client_id, expected=1)
    assert record.key == f"{intake.clinic_id}:{client_id}".encode()
    event = GOALS_AGREED.decode(record.value)  # raises if it broke the contract
    assert event.id == answer.json()["id"]
    assert event.type == "org.alliance.goals.agreed.v2"
    assert event.clinicid == intake.clinic_id
    assert event.source == f"/clinics/{intake.clinic_id}/http"
    data = event.data
    assert all(is_sealed(goal.text) for goal in data.goals)  # the client's words left the intake sealed
    assert not any(text.encode() in record.value for text in texts)
    sealed = [(goal.goal_id, goal.text) for goal in data.goals]
    assert await opened(intake.settings, intake.clinic_id, client_id, sealed) == [
        ("g-1", texts[0]),
        ("g-2", texts[1]),
        ("g-3", texts[2]),
    ]
    assert (data.session_id, data.therapist_id, data.session_at.isoformat()) == (
        "s-1",
        "t-1",
        "2026-11-20T10:00:00+00:00",
    )
    assert data.agreed_at is not None  # set by the server
    assert texts[0] not in service_log.text


async def test_a_goal_closing_lands_on_client_events(intake: Intake, unique: str) -> None:
    client_id = f"c-{unique}"
    body = goal_closing(client_id, goal_id="g-2", outcome="replaced", closed_at="2026-11-27T10:55:00+00:00")
    answer = await intake.http.post("/v1/goal-closings", json=body, headers=intake.auth)

    assert answer.status_code == 202, answer.text
    [record] = await landed(intake, client_id, expected=1)
    event = GOAL_CLOSED.decode(record.value)
    assert event.id == answer.json()["id"]
    assert event.type == "org.alliance.goal.closed.v1"
    assert (event.data.goal_id, event.data.outcome.value, event.data.session_id) == ("g-2", "replaced", "s-2")
    assert event.data.closed_at.isoformat() == "2026-11-27T10:55:00+00:00"  # given, kept


@pytest.mark.parametrize(
    ("path", "body", "field", "reason"),
    [
        ("/v1/goals", goals("c", "a", "b", "c", "d"), "body.goals", "at most 3"),
        ("/v1/goals", goals("c", goals=[]), "body.goals", "at least 1"),
        (
            "/v1/goals",
            goals("c", goals=[{"goal_id": "g-1", "text": "one"}, {"goal_id": "g-1", "text": "two"}]),
            "body.goals",
            "each goal_id may appear once",
        ),
        ("/v1/goals", goals("c", "x" * 301), "body.goals.0.text", "at most 300"),
        (
            "/v1/goals",
            goals("c", goals=[{"goal_id": "$where", "text": "a"}]),
            "body.goals.0.goal_id",
            "pattern",
        ),
        ("/v1/goals", goals("c", clinic_id="other"), "body.clinic_id", "Extra inputs"),
        ("/v1/goal-closings", goal_closing("c", outcome="finished"), "body.outcome", "met"),
        (
            "/v1/goal-closings",
            {k: v for k, v in goal_closing("c").items() if k != "goal_id"},
            "body.goal_id",
            "required",
        ),
    ],
)
async def test_an_invalid_goal_event_is_refused_naming_the_field(
    intake: Intake, unique: str, path: str, body: dict[str, Any], field: str, reason: str
) -> None:
    client_id = f"c-{unique}"
    answer = await intake.http.post(path, json={**body, "client_id": client_id}, headers=intake.auth)

    assert answer.status_code == 422, answer.text
    assert field in problem_fields(answer)
    assert reason in json.dumps(answer.json()["detail"])
    assert await landed(intake, client_id, expected=0, settle=0.5) == []


async def test_a_retry_with_the_same_idempotency_key_makes_no_second_goal_event(
    intake: Intake, unique: str
) -> None:
    client_id = f"c-{unique}"
    headers = {**intake.auth, "Idempotency-Key": f"goals-{unique}"}
    first = await intake.http.post("/v1/goals", json=goals(client_id), headers=headers)
    again = await intake.http.post("/v1/goals", json=goals(client_id), headers=headers)

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(await landed(intake, client_id, expected=1, settle=0.5)) == 1


async def test_gbo_ratings_pass_through_the_feedback_endpoint_naming_only_active_slots(
    intake: Intake, unique: str
) -> None:
    client_id = f"c-{unique}"
    by_client = feedback(client_id, instrument="gbo", items={"goal_1": 4, "goal_3": 7})
    by_therapist = feedback(client_id, instrument="gbo", respondent="therapist", items={"goal_2": 10})
    for body in (by_client, by_therapist):
        answer = await intake.http.post("/v1/feedback", json=body, headers=intake.auth)
        assert answer.status_code == 202, answer.text

    records = await landed(intake, client_id, expected=2)
    ratings = [FEEDBACK_SUBMITTED.decode(record.value).data for record in records]
    assert [(r.instrument.value, r.respondent.value, r.items) for r in ratings] == [
        ("gbo", "client", {"goal_1": 4, "goal_3": 7}),
        ("gbo", "therapist", {"goal_2": 10}),
    ]


@pytest.mark.parametrize(
    ("items", "reason"),
    [
        ({"goal_1": 4.5}, "must be an integer"),
        ({"goal_1": 11}, "out of range"),
        ({"goal_4": 3}, "goal_4"),
        ({}, "at least one"),
    ],
)
async def test_a_gbo_rating_out_of_its_rules_is_refused_naming_the_items(
    intake: Intake, unique: str, items: dict[str, float], reason: str
) -> None:
    body = feedback(f"c-{unique}", instrument="gbo", items=items)
    answer = await intake.http.post("/v1/feedback", json=body, headers=intake.auth)
    assert answer.status_code == 422, answer.text
    assert "body.items" in problem_fields(answer)
    assert reason in json.dumps(answer.json()["detail"])


async def test_a_batch_carries_goals_their_ratings_and_closings_in_order(intake: Intake, unique: str) -> None:
    client_id = f"c-{unique}"
    events: list[dict[str, Any]] = [
        {"type": "goals.agreed", "data": goals(client_id, "Sleep better", "Walk every day")},
        {
            "type": "feedback.submitted",
            "data": feedback(client_id, instrument="gbo", items={"goal_1": 2, "goal_2": 5}),
        },
        {"type": "goal.closed", "data": goal_closing(client_id, goal_id="g-2", outcome="met")},
        {"type": "goals.agreed", "data": goals(client_id, "a", "b", "c", "d")},
        {"type": "goal.closed", "data": goal_closing(client_id, outcome="later")},
    ]
    answer = await intake.http.post("/v1/events:batch", json={"events": events}, headers=intake.auth)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["rejected"], body["unavailable"]) == (3, 2, 0)
    assert [e["field"] for e in body["results"][3]["errors"]] == ["data.goals"]
    assert [e["field"] for e in body["results"][4]["errors"]] == ["data.outcome"]
    assert "Sleep better" not in answer.text  # a rejected item's problems name fields, never echo the words

    records = await landed(intake, client_id, expected=3)
    documents = [json.loads(record.value) for record in records]
    assert [d["id"] for d in documents] == [result["id"] for result in body["results"][:3]]
    assert [d["type"] for d in documents] == [
        "org.alliance.goals.agreed.v2",
        "org.alliance.feedback.submitted.v2",
        "org.alliance.goal.closed.v1",
    ]
    assert b"Sleep better" not in records[0].value and b"Walk every day" not in records[0].value
    texts = [goal["text"] for goal in GOALS_AGREED.decode(records[0].value).data.model_dump()["goals"]]
    assert await opened(intake.settings, intake.clinic_id, client_id, texts) == [
        "Sleep better",
        "Walk every day",
    ]
    assert documents[1]["data"]["items"] == {"goal_1": 2, "goal_2": 5}
    assert GOAL_CLOSED.decode(records[2].value).data.goal_id == "g-2"
    assert {d["source"] for d in documents} == {f"/clinics/{intake.clinic_id}/http-batch"}


def gbo_response(client_id: str, **changes: Any) -> dict[str, Any]:
    ratings = [
        {"linkId": "goal_1", "answer": [{"valueInteger": 4}]},
        {"linkId": "goal_3", "answer": [{"valueInteger": 7}]},
    ]
    return questionnaire_response(
        client_id, **{"questionnaire": GBO_QUESTIONNAIRE, "item": ratings, **changes}
    )


async def test_a_gbo_questionnaire_response_becomes_a_gbo_rating(intake: Intake, unique: str) -> None:
    client_id = f"c-{unique}"
    by_client = gbo_response(client_id)
    by_therapist = gbo_response(
        client_id,
        questionnaire=GBO_QUESTIONNAIRE + "|1",
        author={"reference": "Practitioner/t-1"},
        item=[{"linkId": "goal_2", "answer": [{"valueInteger": 9}]}],
    )
    for body in (by_client, by_therapist):
        answer = await intake.http.post(FHIR_PATH, json=body, headers=intake.auth)
        assert answer.status_code == 202, answer.text

    records = await landed(intake, client_id, expected=2)
    ratings = [FEEDBACK_SUBMITTED.decode(record.value) for record in records]
    assert {event.source for event in ratings} == {f"/clinics/{intake.clinic_id}/fhir"}
    assert [(r.data.instrument.value, r.data.respondent.value, r.data.items) for r in ratings] == [
        ("gbo", "client", {"goal_1": 4, "goal_3": 7}),
        ("gbo", "therapist", {"goal_2": 9}),
    ]


@pytest.mark.parametrize(
    ("item", "reason", "element"),
    [
        ([{"linkId": "goal_4", "answer": [{"valueInteger": 3}]}], "goal_4", "item[0].linkId"),
        (
            [{"linkId": "goal_1", "answer": [{"valueDecimal": 6.5}]}],
            "must be an integer",
            "item[0].answer[0].valueDecimal",
        ),
        (
            [{"linkId": "goal_2", "answer": [{"valueInteger": -1}]}],
            "out of range",
            "item[0].answer[0].valueInteger",
        ),
    ],
)
async def test_a_gbo_response_out_of_its_rules_is_an_operation_outcome_naming_the_items(
    intake: Intake, unique: str, item: list[dict[str, Any]], reason: str, element: str
) -> None:
    answer = await intake.http.post(
        FHIR_PATH, json=gbo_response(f"c-{unique}", item=item), headers=intake.auth
    )
    assert answer.status_code == 422, answer.text
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert [issue["expression"] for issue in outcome["issue"]] == [[f"QuestionnaireResponse.{element}"]]
    assert reason in outcome["issue"][0]["diagnostics"]
