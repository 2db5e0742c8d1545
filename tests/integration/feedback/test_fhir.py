"""POST /v1/fhir/QuestionnaireResponse: mapped to feedback.submitted; every error an OperationOutcome."""

import json
from typing import Any

import pytest

from shared.contracts import FEEDBACK_SUBMITTED
from tests.integration.feedback.conftest import Intake, is_sealed, opened
from tests.integration.feedback.payloads import questionnaire_response
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration
PATH = "/v1/fhir/QuestionnaireResponse"
FHIR = {"Content-Type": "application/fhir+json"}


async def submitted(intake: Intake, event_id: str) -> Any:
    records = await records_matching(
        intake.kafka_bootstrap,
        "client.events",
        lambda r: json.loads(r.value)["id"] == event_id,
        expected=1,
    )
    assert len(records) == 1
    return FEEDBACK_SUBMITTED.decode(records[0].value)


async def test_an_srs_by_the_client_becomes_feedback_submitted(intake: Intake, unique: str) -> None:
    client_id = f"c-{unique}"
    body = questionnaire_response(client_id, authored="2026-11-20T10:55:00+00:00")
    body["item"].append({"linkId": "comment", "answer": [{"valueString": "Felt rushed."}]})
    answer = await intake.http.post(PATH, content=json.dumps(body), headers={**intake.auth, **FHIR})

    assert answer.status_code == 202, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    assert answer.json()["resourceType"] == "OperationOutcome"
    event = await submitted(intake, answer.json()["id"])
    assert event.clinicid == intake.clinic_id
    assert event.source == f"/clinics/{intake.clinic_id}/fhir"
    data = event.data
    assert (data.client_id, data.session_id, data.therapist_id) == (client_id, "s-1", "t-1")
    assert (data.instrument.value, data.respondent.value) == ("srs", "client")
    assert data.items == {"relationship": 9.1, "goals": 8.4, "approach": 8.8, "overall": 8.9}
    assert is_sealed(data.comment)  # the client's words left the intake sealed
    assert await opened(intake.settings, intake.clinic_id, client_id, data.comment) == "Felt rushed."
    assert data.session_at.isoformat() == "2026-11-20T10:00:00+00:00"
    assert data.submitted_at.isoformat() == "2026-11-20T10:55:00+00:00"


async def test_a_wai_sr_by_the_therapist_with_integer_answers(intake: Intake, unique: str) -> None:
    body = questionnaire_response(
        f"c-{unique}",
        questionnaire="https://alliance-platform.org/fhir/Questionnaire/wai_sr|1",
        author={"reference": "Practitioner/t-9"},
        extension=[questionnaire_response("x")["extension"][1]],
        item=[{"linkId": f"q{i}", "answer": [{"valueInteger": 1 + i % 5}]} for i in range(1, 13)],
    )
    answer = await intake.http.post(PATH, json=body, headers=intake.auth)
    assert answer.status_code == 202, answer.text
    data = (await submitted(intake, answer.json()["id"])).data
    assert (data.instrument.value, data.respondent.value, data.therapist_id) == ("wai_sr", "therapist", "t-9")
    assert data.items["q4"] == 5.0


async def test_an_ors_by_the_client(intake: Intake, unique: str) -> None:
    body = questionnaire_response(
        f"c-{unique}",
        questionnaire="https://alliance-platform.org/fhir/Questionnaire/ors",
        item=[
            {"linkId": name, "answer": [{"valueDecimal": 6.5}]}
            for name in ("individual", "interpersonal", "social", "overall")
        ],
    )
    answer = await intake.http.post(PATH, json=body, headers=intake.auth)
    assert answer.status_code == 202, answer.text
    assert (await submitted(intake, answer.json()["id"])).data.instrument.value == "ors"


PSQ = "https://alliance-platform.org/fhir/Questionnaire/psq"


async def test_a_rupture_report_with_a_yes_no_tension_and_its_follow_ups(intake: Intake, unique: str) -> None:
    body = questionnaire_response(
        f"c-{unique}",
        questionnaire=PSQ,
        item=[
            {"linkId": "tension", "answer": [{"valueBoolean": True}]},
            {"linkId": "intensity", "answer": [{"valueInteger": 4}]},
            {"linkId": "resolution", "answer": [{"valueInteger": 2}]},
        ],
    )
    answer = await intake.http.post(PATH, json=body, headers=intake.auth)
    assert answer.status_code == 202, answer.text
    data = (await submitted(intake, answer.json()["id"])).data
    assert (data.instrument.value, data.respondent.value) == ("psq", "client")
    assert data.items == {"tension": 1.0, "intensity": 4.0, "resolution": 2.0}


async def test_a_rupture_report_of_tension_without_its_follow_ups_is_refused_by_name(intake: Intake) -> None:
    body = questionnaire_response(
        "c-1", questionnaire=PSQ, item=[{"linkId": "tension", "answer": [{"valueBoolean": True}]}]
    )
    answer = await intake.http.post(PATH, json=body, headers=intake.auth)
    assert answer.status_code == 422, answer.text
    diagnostics = " ".join(issue.get("diagnostics", "") for issue in answer.json()["issue"])
    assert "items.intensity: required when tension is 1" in diagnostics


@pytest.mark.parametrize(
    ("changes", "expression"),
    [
        ({"status": "in-progress"}, "QuestionnaireResponse.status"),
        ({"questionnaire": "http://loinc.org/q/1234"}, "QuestionnaireResponse.questionnaire"),
        ({"subject": {"reference": "Group/g-1"}}, "QuestionnaireResponse.subject"),
        ({"author": {"reference": "RelatedPerson/r-1"}}, "QuestionnaireResponse.author"),
        (
            {"extension": []},
            "QuestionnaireResponse.extension('https://alliance-platform.org/fhir/StructureDefinition/session-at')",
        ),
        (
            {"item": [{"linkId": "relationship", "answer": [{"valueDecimal": 9}]}]},
            "QuestionnaireResponse.item.where(linkId = 'overall')",
        ),
        ({"item": [{"linkId": "goals", "answer": []}]}, "QuestionnaireResponse.item[0].answer[0]"),
    ],
    ids=["status", "questionnaire", "subject", "author", "session-at", "missing-items", "no-answer"],
)
async def test_an_unmappable_response_gets_422_operation_outcome_naming_the_element(
    intake: Intake, changes: dict[str, Any], expression: str
) -> None:
    answer = await intake.http.post(PATH, json=questionnaire_response("c-1", **changes), headers=intake.auth)
    assert answer.status_code == 422, answer.text
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert expression in [e for issue in outcome["issue"] for e in issue.get("expression", [])]
    assert {issue["severity"] for issue in outcome["issue"]} == {"error"}


async def test_not_json_gets_400_and_another_resource_422(intake: Intake) -> None:
    broken = await intake.http.post(PATH, content=b"{not json", headers={**intake.auth, **FHIR})
    assert broken.status_code == 400
    assert broken.json()["resourceType"] == "OperationOutcome"
    assert "expression" not in broken.json()["issue"][0]  # no element to name in what is not JSON
    patient = await intake.http.post(PATH, json={"resourceType": "Patient", "id": "p"}, headers=intake.auth)
    assert patient.status_code == 422
    assert patient.json()["issue"][0]["code"] == "structure"
    named = {e for issue in patient.json()["issue"] for e in issue["expression"]}
    assert {"QuestionnaireResponse.resourceType", "QuestionnaireResponse.subject"} <= named


async def test_an_unknown_fhir_path_is_a_404_operation_outcome(intake: Intake) -> None:
    for path in ("/fhir/Patient/p-1", "/v1/fhir/Patient"):
        answer = await intake.http.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("application/fhir+json")
        assert answer.json()["issue"][0]["code"] == "not-found"


async def test_auth_errors_are_operation_outcomes(intake: Intake) -> None:
    answer = await intake.http.post(PATH, json=questionnaire_response("c-1"))
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json()["issue"][0]["code"] == "login"
