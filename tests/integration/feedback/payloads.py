"""Valid request bodies for the intake tests, with changes applied."""

from typing import Any


def feedback(client_id: str, /, **changes: Any) -> dict[str, Any]:
    base = {
        "session_id": "s-1",
        "therapist_id": "t-1",
        "client_id": client_id,
        "session_at": "2026-11-20T10:00:00+00:00",
        "instrument": "srs",
        "respondent": "client",
        "items": {"relationship": 9.1, "goals": 8.4, "approach": 8.8, "overall": 8.9},
    }
    return {**base, **changes}


def session(client_id: str, /, **changes: Any) -> dict[str, Any]:
    base = {
        "session_id": "s-1",
        "therapist_id": "t-1",
        "client_id": client_id,
        "occurred_at": "2026-11-20T10:00:00+00:00",
        "attendance": "attended",
        "scheduled_minutes": 50,
    }
    return {**base, **changes}


def questionnaire_response(client_id: str, /, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "https://alliance-platform.org/fhir/Questionnaire/srs",
        "subject": {"reference": f"Patient/{client_id}"},
        "encounter": {"reference": "Encounter/s-1"},
        "extension": [
            {
                "url": "https://alliance-platform.org/fhir/StructureDefinition/therapist",
                "valueReference": {"reference": "Practitioner/t-1"},
            },
            {
                "url": "https://alliance-platform.org/fhir/StructureDefinition/session-at",
                "valueDateTime": "2026-11-20T10:00:00+00:00",
            },
        ],
        "item": [
            {"linkId": "relationship", "answer": [{"valueDecimal": 9.1}]},
            {"linkId": "goals", "answer": [{"valueDecimal": 8.4}]},
            {"linkId": "approach", "answer": [{"valueDecimal": 8.8}]},
            {"linkId": "overall", "answer": [{"valueDecimal": 8.9}]},
        ],
    }
    return {**base, **changes}
