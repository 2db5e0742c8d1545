"""Request examples shown in the OpenAPI document (and used by the docs)."""

from typing import Any

from fastapi.openapi.models import Example

SRS_BY_CLIENT: dict[str, Any] = {
    "session_id": "s-104",
    "therapist_id": "t-7",
    "client_id": "c-311",
    "session_at": "2026-11-20T10:00:00+00:00",
    "instrument": "srs",
    "respondent": "client",
    "items": {"relationship": 9.1, "goals": 8.4, "approach": 8.8, "overall": 8.9},
    "comment": "Felt rushed at the end.",
}
SRS_BY_THERAPIST = {**SRS_BY_CLIENT, "respondent": "therapist", "comment": None}
ORS_BY_CLIENT = {
    **SRS_BY_CLIENT,
    "instrument": "ors",
    "items": {"individual": 6.2, "interpersonal": 5.5, "social": 7.0, "overall": 6.1},
    "comment": None,
}
WAI_SR_BY_CLIENT = {
    **SRS_BY_CLIENT,
    "instrument": "wai_sr",
    "items": {f"q{i}": 4 for i in range(1, 13)},
    "comment": None,
}
PSQ_BY_CLIENT = {
    **SRS_BY_CLIENT,
    "instrument": "psq",
    "items": {"tension": 1, "intensity": 4, "resolution": 2},
    "comment": None,
}
PSQ_BY_THERAPIST = {**PSQ_BY_CLIENT, "respondent": "therapist", "items": {"tension": 0}}
NOTE: dict[str, Any] = {
    "note_id": "n-104",
    "session_id": "s-104",
    "therapist_id": "t-7",
    "client_id": "c-311",
    "session_at": "2026-11-20T10:00:00+00:00",
    "text": "Today we looked at what happens when work gets busy. Next: try the short evening check-in twice "
    "this week, and we start next session with how it went.",
}
SESSION: dict[str, Any] = {
    "session_id": "s-104",
    "therapist_id": "t-7",
    "client_id": "c-311",
    "occurred_at": "2026-11-20T10:00:00+00:00",
    "attendance": "attended",
    "scheduled_minutes": 50,
    "attended_minutes": 50,
}


def _without_none(example: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in example.items() if value is not None}


FEEDBACK: dict[str, Example] = {
    "srs-client": Example(summary="SRS by the client", value=_without_none(SRS_BY_CLIENT)),
    "srs-therapist": Example(summary="SRS by the therapist", value=_without_none(SRS_BY_THERAPIST)),
    "ors-client": Example(summary="ORS by the client", value=_without_none(ORS_BY_CLIENT)),
    "wai-sr-client": Example(summary="WAI-SR by the client", value=_without_none(WAI_SR_BY_CLIENT)),
    "psq-client": Example(
        summary="Rupture report by the client: tension", value=_without_none(PSQ_BY_CLIENT)
    ),
    "psq-therapist": Example(
        summary="Rupture report by the therapist: none", value=_without_none(PSQ_BY_THERAPIST)
    ),
}
NOTES: dict[str, Example] = {"note": Example(summary="A note after session s-104", value=NOTE)}
SESSIONS: dict[str, Example] = {
    "attended": Example(summary="An attended session", value=SESSION),
    "no-show": Example(
        summary="A no-show",
        value={**{k: v for k, v in SESSION.items() if k != "attended_minutes"}, "attendance": "no_show"},
    ),
}
BATCH: dict[str, Example] = {
    "mixed": Example(
        summary="A session and two ratings",
        value={
            "events": [
                {"type": "session.completed", "data": SESSION},
                {"type": "feedback.submitted", "data": _without_none(SRS_BY_CLIENT)},
                {"type": "feedback.submitted", "data": _without_none(SRS_BY_THERAPIST)},
            ]
        },
    )
}
