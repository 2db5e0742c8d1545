"""QuestionnaireResponse → ``feedback.submitted`` data: a pure function, every problem named by FHIRPath.

| FHIR element | feedback.submitted |
|---|---|
| `questionnaire` (`.../Questionnaire/srs`, `ors`, `wai_sr`, `psq`, `gbo`; a `|version` suffix is ignored) | `instrument` |
| `subject` = `Patient/<id>` | `client_id` |
| `encounter` = `Encounter/<id>` | `session_id` |
| `author` = `Practitioner/<id>` | `respondent` = therapist, `therapist_id` |
| `author` = `Patient/<id>` (the subject) or absent | `respondent` = client |
| extension `.../StructureDefinition/therapist` (valueReference `Practitioner/<id>`) | `therapist_id` |
| extension `.../StructureDefinition/session-at` (valueDateTime) | `session_at` |
| `item[].linkId` + `answer[0].valueDecimal` / `valueInteger` / `valueBoolean` (true 1, false 0) | `items` |
| (gbo) one `item` per active goal rated, linkId `goal_<slot>` | `items` (any of `goal_1` .. `goal_3`) |
| `item` with linkId `comment` + `answer[0].valueString` | `comment` |
| `authored` | `submitted_at` (now when absent) |
"""

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from services.feedback.fhir.resources import (
    QUESTIONNAIRES,
    SESSION_AT_EXTENSION,
    THERAPIST_EXTENSION,
    Answer,
    QuestionnaireResponse,
    Reference,
)
from shared.contracts import FeedbackSubmittedV1

QR = "QuestionnaireResponse"
# Where each contract field came from, to name the FHIR element when the contract refuses a value.
ORIGIN = {
    "client_id": f"{QR}.subject",
    "session_id": f"{QR}.encounter",
    "therapist_id": f"{QR}.extension('{THERAPIST_EXTENSION}')",
    "session_at": f"{QR}.extension('{SESSION_AT_EXTENSION}')",
    "instrument": f"{QR}.questionnaire",
    "items": f"{QR}.item",
    "comment": f"{QR}.item('comment')",
    "submitted_at": f"{QR}.authored",
}


class UnmappableResponse(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{where}: {why}" for where, why in problems))


def to_feedback(response: QuestionnaireResponse, now: datetime | None = None) -> FeedbackSubmittedV1:
    problems: list[tuple[str, str]] = []

    def need(condition: bool, where: str, why: str) -> None:
        if not condition:
            problems.append((where, why))

    need(response.status == "completed", f"{QR}.status", "only a completed response is accepted")
    instrument = QUESTIONNAIRES.get(response.questionnaire.split("|", 1)[0])
    need(
        instrument is not None,
        f"{QR}.questionnaire",
        f"unknown questionnaire; use one of {sorted(QUESTIONNAIRES)}",
    )
    client_id = _id_of(response.subject, "Patient", f"{QR}.subject", problems)
    session_id = _id_of(response.encounter, "Encounter", f"{QR}.encounter", problems)
    respondent, therapist_id = _respondent(response, client_id, problems)
    session_at = next((e.valueDateTime for e in response.extension if e.url == SESSION_AT_EXTENSION), None)
    need(session_at is not None, ORIGIN["session_at"], "required: the session's start (valueDateTime)")
    items, comment = _answers(response, problems)
    if problems:
        raise UnmappableResponse(problems)
    data: dict[str, Any] = {
        "session_id": session_id,
        "therapist_id": therapist_id,
        "client_id": client_id,
        "session_at": session_at,
        "instrument": instrument,
        "respondent": respondent,
        "items": items,
        "comment": comment,
        "submitted_at": response.authored or now or datetime.now(UTC),
    }
    try:
        return FeedbackSubmittedV1.model_validate(data)
    except ValidationError as invalid:
        raise UnmappableResponse(
            [(ORIGIN.get(str(error["loc"][0]), QR), error["msg"]) for error in invalid.errors()]
        ) from None


def _id_of(reference: Reference | None, resource: str, where: str, problems: list[tuple[str, str]]) -> str:
    kind, _, identifier = (reference.reference if reference else "").partition("/")
    if kind != resource or not identifier:
        problems.append((where, f"must be a reference '{resource}/<id>'"))
    return identifier


def _respondent(
    response: QuestionnaireResponse, client_id: str, problems: list[tuple[str, str]]
) -> tuple[str, str]:
    therapist = next((e.valueReference for e in response.extension if e.url == THERAPIST_EXTENSION), None)
    therapist_id = _id_of(therapist, "Practitioner", ORIGIN["therapist_id"], []) if therapist else ""
    author = response.author.reference if response.author else f"Patient/{client_id}"
    kind, _, author_id = author.partition("/")
    if kind == "Practitioner" and author_id:
        if therapist_id and therapist_id != author_id:
            problems.append((f"{QR}.author", "differs from the therapist extension"))
        return "therapist", author_id
    if kind != "Patient" or author_id != client_id:
        problems.append((f"{QR}.author", "must be the subject (Patient) or a Practitioner"))
    if not therapist_id:
        problems.append((ORIGIN["therapist_id"], "required unless the author is the Practitioner"))
    return "client", therapist_id


def _answers(
    response: QuestionnaireResponse, problems: list[tuple[str, str]]
) -> tuple[dict[str, Any], str | None]:
    items: dict[str, Any] = {}
    comment = None
    for index, item in enumerate(response.item):
        answer = item.answer[0] if item.answer else None
        where = f"{QR}.item[{index}].answer[0]"
        if item.linkId == "comment":
            comment = answer.valueString if answer else None
        elif (value := _number(answer) if answer else None) is None:
            problems.append((where, "needs a valueDecimal, valueInteger or valueBoolean"))
        elif item.linkId in items:
            problems.append((f"{QR}.item[{index}].linkId", "repeated item"))
        else:
            items[item.linkId] = value
    return items, comment


def _number(answer: Answer) -> float | None:
    if answer.valueDecimal is not None:
        return answer.valueDecimal
    if answer.valueInteger is not None:
        return float(answer.valueInteger)
    if answer.valueBoolean is not None:  # a yes/no question: psq's tension
        return 1.0 if answer.valueBoolean else 0.0
    return None
