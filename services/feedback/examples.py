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
GBO_BY_CLIENT = {
    **SRS_BY_CLIENT,
    "instrument": "gbo",
    "items": {"goal_1": 4, "goal_2": 6, "goal_3": 2},
    "comment": None,
}
# The second goal was closed in an earlier session: its slot is empty, so the therapist rates goals 1 and 3.
GBO_BY_THERAPIST = {**GBO_BY_CLIENT, "respondent": "therapist", "items": {"goal_1": 5, "goal_3": 3}}
AGREEMENT: dict[str, Any] = {
    "client_id": "c-311",
    "therapist_id": "t-7",
    "session_id": "s-104",
    "session_at": "2026-11-20T10:00:00+00:00",
    "goals": [
        {"goal_id": "g-1", "text": "Sleep through most nights without waking at four."},
        {"goal_id": "g-2", "text": "Tell my manager when the workload is too much."},
        {"goal_id": "g-3", "text": "Go back to the Saturday football with my brother."},
    ],
}
GOAL_CLOSING: dict[str, Any] = {
    "client_id": "c-311",
    "therapist_id": "t-7",
    "session_id": "s-109",
    "session_at": "2026-12-18T10:00:00+00:00",
    "goal_id": "g-2",
    "outcome": "met",
}
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
    "gbo-client": Example(
        summary="Goal ratings by the client: one item per active goal, by slot",
        value=_without_none(GBO_BY_CLIENT),
    ),
    "gbo-therapist": Example(
        summary="Goal ratings by the therapist, the second goal's slot empty",
        value=_without_none(GBO_BY_THERAPIST),
    ),
}
NOTES: dict[str, Example] = {"note": Example(summary="A note after session s-104", value=NOTE)}
GOALS: dict[str, Example] = {
    "three-goals": Example(summary="Three goals agreed in session s-104", value=AGREEMENT),
    "revision": Example(
        summary="A revision: the list replaces the earlier one (goal g-2 met, g-4 new)",
        value={
            **AGREEMENT,
            "session_id": "s-110",
            "session_at": "2027-01-08T10:00:00+00:00",
            "goals": [
                AGREEMENT["goals"][0],
                {"goal_id": "g-4", "text": "Plan one thing to look forward to each weekend."},
                AGREEMENT["goals"][2],
            ],
        },
    ),
}
GOAL_CLOSINGS: dict[str, Example] = {
    "met": Example(summary="Goal g-2 met in session s-109", value=GOAL_CLOSING),
    "dropped": Example(
        summary="Goal g-3 dropped", value={**GOAL_CLOSING, "goal_id": "g-3", "outcome": "dropped"}
    ),
}
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
    ),
    "goals": Example(
        summary="Goals agreed in a session, and the client's first rating of them",
        value={
            "events": [
                {"type": "goals.agreed", "data": AGREEMENT},
                {"type": "feedback.submitted", "data": _without_none(GBO_BY_CLIENT)},
            ]
        },
    ),
}
