"""The export's FHIR R4 Bundle: a pure mapping of the JSON export, valid by HL7's R4 JSON schema."""

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from services.scoring.export.client_export import ClientExport, ExportedEvent
from services.scoring.export.fhir_bundle import BASE_URL, fhir_bundle
from services.scoring.projection import alliance_view
from tests.support.fhir_schema import fhir_problems

from .builders import CLIENT, CLINIC, assess

SESSION = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SRS = {"relationship": 9.1, "goals": 8.4, "approach": 8.8, "overall": 8.9}  # 35.2, exactly
WAI_SR = {f"q{i}": float(1 + i % 5) for i in range(1, 13)}


def rating(event_id: str, instrument: str, items: dict[str, float], **more: Any) -> ExportedEvent:
    data = {
        "session_id": "s-104",
        "therapist_id": "t-7",
        "client_id": CLIENT,
        "session_at": SESSION.isoformat(),
        "instrument": instrument,
        "respondent": "client",
        "items": items,
        "comment": None,
        "submitted_at": (SESSION + timedelta(hours=1)).isoformat(),
    }
    return event(event_id, "org.alliance.feedback.submitted.v2", {**data, **more})


def event(event_id: str, type_: str, data: dict[str, Any]) -> ExportedEvent:
    return ExportedEvent(id=event_id, type=type_, source="/tests", time=SESSION, data=data)


def export_of(*events: ExportedEvent) -> ClientExport:
    return ClientExport(
        clinic_id=CLINIC,
        client_id=CLIENT,
        exported_at=datetime(2026, 11, 28, 9, 30, 15, 123456, tzinfo=UTC),
        alliance=alliance_view(assess(["38"])),
        events=list(events),
        acknowledgements=[],
        resolutions=[],
        notifications=[],
        audit=[],
    )


SESSION_RECORD = event(
    "e-session",
    "org.alliance.session.completed.v1",
    {"session_id": "s-104", "therapist_id": "t-7", "client_id": CLIENT, "occurred_at": SESSION.isoformat()},
)
EVERY_INSTRUMENT = export_of(
    SESSION_RECORD,
    rating("e-srs", "srs", SRS, comment="It felt rushed today"),
    rating("e-ors", "ors", {"individual": 5.0, "interpersonal": 6.5, "social": 4.0, "overall": 5.5}),
    rating("e-wai", "wai_sr", WAI_SR, respondent="therapist"),
    rating("e-psq", "psq", {"tension": 1.0, "intensity": 4.0, "resolution": 2.0}),
    rating("e-gbo", "gbo", {"goal_1": 3.0, "goal_2": 7.0}),
)


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_one_response_per_rating_one_observation_per_total_and_the_schema_holds() -> None:
    bundle = fhir_bundle(EVERY_INSTRUMENT)

    assert fhir_problems(bundle) == []
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    assert bundle["timestamp"] == "2026-11-28T09:30:15.123456+00:00"
    responses, observations = resources(bundle, "QuestionnaireResponse"), resources(bundle, "Observation")
    # The session record is no rating; psq and gbo have no total.
    assert [r["identifier"]["value"] for r in responses] == ["e-srs", "e-ors", "e-wai", "e-psq", "e-gbo"]
    assert [o["code"]["coding"][0]["code"] for o in observations] == [
        "srs-total",
        "ors-total",
        "wai_sr-total",
    ]
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(set(urls)) == len(urls) == 8 and all(url.startswith("urn:uuid:") for url in urls)


def test_a_response_carries_the_items_in_order_the_comment_and_who_answered() -> None:
    bundle = fhir_bundle(EVERY_INSTRUMENT)
    srs, _, wai, *_ = resources(bundle, "QuestionnaireResponse")

    assert srs["status"] == "completed"
    assert srs["questionnaire"] == f"{BASE_URL}/Questionnaire/srs"
    client = {
        "type": "Patient",
        "identifier": {"system": f"{BASE_URL}/clinic/{CLINIC}/client", "value": CLIENT},
    }
    assert srs["subject"] == srs["author"] == client
    assert srs["authored"] == "2026-11-20T11:00:00+00:00"
    assert srs["encounter"]["identifier"] == {
        "system": f"{BASE_URL}/clinic/{CLINIC}/session",
        "value": "s-104",
    }
    assert srs["item"] == [
        {"linkId": "relationship", "answer": [{"valueDecimal": 9.1}]},
        {"linkId": "goals", "answer": [{"valueDecimal": 8.4}]},
        {"linkId": "approach", "answer": [{"valueDecimal": 8.8}]},
        {"linkId": "overall", "answer": [{"valueDecimal": 8.9}]},
        {"linkId": "comment", "answer": [{"valueString": "It felt rushed today"}]},
    ]
    assert wai["author"] == {
        "type": "Practitioner",
        "identifier": {"system": f"{BASE_URL}/clinic/{CLINIC}/therapist", "value": "t-7"},
    }
    assert [item["linkId"] for item in wai["item"]] == [f"q{i}" for i in range(1, 13)]  # no comment: no item


def test_an_observation_holds_the_exact_total_its_subscales_and_derives_from_its_response() -> None:
    bundle = fhir_bundle(EVERY_INSTRUMENT)
    url_of = {id(entry["resource"]): entry["fullUrl"] for entry in bundle["entry"]}
    srs_response, _, wai_response, *_ = resources(bundle, "QuestionnaireResponse")
    srs, _, wai = resources(bundle, "Observation")

    assert srs["status"] == "final"
    assert srs["code"]["text"] == "Session Rating Scale (SRS) total score"
    assert srs["valueQuantity"] == {
        "value": 35.2,
        "unit": "score",
        "system": "http://unitsofmeasure.org",
        "code": "{score}",
    }
    assert "component" not in srs  # SRS has items, not subscales
    assert srs["derivedFrom"] == [{"reference": url_of[id(srs_response)], "type": "QuestionnaireResponse"}]
    assert wai["derivedFrom"][0]["reference"] == url_of[id(wai_response)]
    assert wai["valueQuantity"]["value"] == sum(WAI_SR.values())
    subscales = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in wai["component"]}
    assert subscales == {
        "wai_sr-task": sum(WAI_SR[q] for q in ("q1", "q2", "q10", "q12")),
        "wai_sr-bond": sum(WAI_SR[q] for q in ("q3", "q5", "q7", "q9")),
        "wai_sr-goal": sum(WAI_SR[q] for q in ("q4", "q6", "q8", "q11")),
    }
    assert wai["performer"] == [wai_response["author"]]


def test_the_same_export_gives_the_same_bundle() -> None:
    assert fhir_bundle(EVERY_INSTRUMENT) == fhir_bundle(copy.deepcopy(EVERY_INSTRUMENT))
    assert fhir_bundle(export_of())["entry"] == []
    assert fhir_problems(fhir_bundle(export_of())) == []


def test_the_schema_check_is_not_vacuous() -> None:
    bundle = fhir_bundle(EVERY_INSTRUMENT)
    broken = copy.deepcopy(bundle)
    broken["entry"][1]["resource"]["status"] = "done"  # not an observation status
    assert any(problem.startswith("entry/1/resource/status") for problem in fhir_problems(broken))
    broken = copy.deepcopy(bundle)
    broken["entry"][1]["resource"]["valueQuantity"]["value"] = "35.2"  # a string, not a number
    assert fhir_problems(broken)
    assert fhir_problems({**bundle, "type": "export"})
