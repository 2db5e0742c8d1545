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
| `item[].linkId` + `answer[0].valueDecimal` / `valueInteger` / (a yes/no item) `valueBoolean` (true 1) | `items` |
| (gbo) one `item` per active goal rated, linkId `goal_<slot>` | `items` (any of `goal_1` .. `goal_3`) |
| `item` with linkId `comment` + `answer[0].valueString` | `comment` |
| `authored` | `submitted_at` (now when absent) |

The items are checked against the instrument here, item by item, so that each problem names its element: an
unknown linkId (`item[3].linkId`), a value of the wrong type or out of range (`item[0].answer[0].valueDecimal`),
a missing item (`item.where(linkId = 'overall')`), a follow-up its gate does not ask (`item[1]`).
"""

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from services.feedback.fhir.questionnaires import ItemType, answer_values, item_type
from services.feedback.fhir.resources import (
    COMMENT,
    QUESTIONNAIRES,
    SESSION_AT_EXTENSION,
    THERAPIST_EXTENSION,
    Answer,
    QuestionnaireResponse,
    Reference,
)
from shared.contracts import FeedbackSubmittedV1
from shared.instruments import INSTRUMENTS, InstrumentSpec, InvalidScores, parse_instrument, validate_scores

QR = "QuestionnaireResponse"
# Where each contract field came from, to name the FHIR element when the contract refuses a value.
ORIGIN = {
    "client_id": f"{QR}.subject",
    "session_id": f"{QR}.encounter",
    "therapist_id": f"{QR}.extension('{THERAPIST_EXTENSION}')",
    "session_at": f"{QR}.extension('{SESSION_AT_EXTENSION}')",
    "instrument": f"{QR}.questionnaire",
    "items": f"{QR}.item",
    "comment": f"{QR}.item.where(linkId = '{COMMENT}')",
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
    # Without a known instrument what the items must be is unknown: that one problem is reported.
    spec = INSTRUMENTS[parse_instrument(instrument)] if instrument is not None else None
    items, comment = _answers(response, spec, problems) if spec is not None else ({}, None)
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
    response: QuestionnaireResponse, spec: InstrumentSpec, problems: list[tuple[str, str]]
) -> tuple[dict[str, float], str | None]:
    """The items' values and the comment."""
    items: dict[str, float] = {}
    elements: dict[str, str] = {}  # item name → the element its value came from
    positions: dict[str, int] = {}  # item name → its index in `item`
    refused: set[str] = set()  # the linkIds found at fault already
    comment = None
    for index, item in enumerate(response.item):
        at = f"{QR}.item[{index}]"
        answer = item.answer[0] if item.answer else None
        if item.linkId == COMMENT:
            comment = answer.valueString if answer else None
        elif item.linkId not in spec.items:
            known = ", ".join((*spec.items, COMMENT))
            refused.add(item.linkId)
            problems.append(
                (f"{at}.linkId", f"unknown item {item.linkId!r} of {spec.instrument.value}: {known}")
            )
        elif item.linkId in positions:
            problems.append((f"{at}.linkId", "repeated item"))
        else:
            positions[item.linkId] = index
            kind = item_type(spec, item.linkId)
            value, element = _value(answer, answer_values(kind))
            if value is None:
                refused.add(item.linkId)
                problems.append((f"{at}.answer[0]{element}", _wanted(kind)))
            else:
                items[item.linkId] = value
                elements[item.linkId] = f"{at}.answer[0]{element}"
    problems += _instrument_problems(spec, items, elements, positions, refused)
    return items, comment


def _value(answer: Answer | None, accepted: tuple[str, ...]) -> tuple[float | None, str]:
    """The answer's number and the element that holds it (relative to the answer: '.valueDecimal'); without a
    value the item takes, None and the element at fault: a value of another type ('.valueString'), or the
    answer itself ('') when it has none."""
    carried = answer.value_elements if answer is not None else []
    name = next((name for name in carried if name in accepted), None)
    if answer is None or name is None:
        return None, f".{carried[0]}" if carried else ""
    value = getattr(answer, name)
    return (1.0 if value else 0.0) if isinstance(value, bool) else float(value), f".{name}"


def _wanted(kind: ItemType) -> str:
    values = {
        ItemType.DECIMAL: "a valueDecimal",
        ItemType.INTEGER: "a valueInteger",
        ItemType.CHOICE: "a valueInteger, one of its answerOptions",
        ItemType.BOOLEAN: "a valueBoolean",
    }
    return f"a {kind.value} item: needs {values[kind]}"


def _instrument_problems(
    spec: InstrumentSpec,
    items: dict[str, float],
    elements: dict[str, str],
    positions: dict[str, int],
    refused: set[str],
) -> list[tuple[str, str]]:
    """What the instrument refuses, each problem at its element. An item refused already (for its type) is not
    reported again as missing, nor are no items at all when some were refused (an unknown linkId)."""
    try:
        validate_scores(spec.instrument, items)
    except InvalidScores as invalid:
        asked = spec.asked(items)
        problems = []
        for field, why in invalid.problems.items():
            name = field.removeprefix("items.")
            if name in refused or (field == "items" and refused):
                continue
            if field == "items":
                where = f"{QR}.item"
            elif name not in positions:
                where = f"{QR}.item.where(linkId = '{name}')"
            elif name in asked:
                where = elements[name]
            else:  # a follow-up its gate does not ask: the item itself should not be there
                where = f"{QR}.item[{positions[name]}]"
            problems.append((where, f"{field}: {why}"))
        return problems
    return []
