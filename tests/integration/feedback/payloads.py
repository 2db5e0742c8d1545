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


def goals(client_id: str, /, *texts: str, **changes: Any) -> dict[str, Any]:
    """goals.agreed for session s-1: goal g-<k> for the k-th text (two goals when none are given)."""
    texts = texts or ("Sleep through most nights.", "Tell my manager when it is too much.")
    base = {
        "client_id": client_id,
        "therapist_id": "t-1",
        "session_id": "s-1",
        "session_at": "2026-11-20T10:00:00+00:00",
        "goals": [{"goal_id": f"g-{k}", "text": text} for k, text in enumerate(texts, start=1)],
    }
    return {**base, **changes}


def goal_closing(client_id: str, /, **changes: Any) -> dict[str, Any]:
    base = {
        "client_id": client_id,
        "therapist_id": "t-1",
        "session_id": "s-2",
        "session_at": "2026-11-27T10:00:00+00:00",
        "goal_id": "g-1",
        "outcome": "met",
    }
    return {**base, **changes}
