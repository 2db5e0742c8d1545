"""The feedback intake's FHIR R4 Questionnaires, read and answered with a FHIR model library the platform did not
write (fhir.resources), and checked against HL7's R4 JSON schema (tests/support/fhir_schema.py).

fhir.resources releases that run on pydantic 2 (7.1 and later) model R5 and R4B (4.3.0), not R4 (4.0.1): R4 was
last in 6.4, on pydantic 1. Questionnaire, QuestionnaireResponse, Bundle and OperationOutcome have the same
elements in R4B as in R4's schema, so the R4B models stand in for an R4 client and the schema checks R4 itself.

Every instrument of shared/instruments.py is enumerated: a new one without its Questionnaire fails here. Each
response is filled in from the served Questionnaire alone, as a form renderer does (its types, ranges, options
and enableWhen), at the lowest, a middle and the highest answers it allows; the intake must take every one. What
the Questionnaire does not allow, the intake refuses, naming the element by a FHIRPath ``expression``.
"""

import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, Literal

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.questionnaire import Questionnaire, QuestionnaireItem
from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse,
    QuestionnaireResponseItem,
    QuestionnaireResponseItemAnswer,
)
from fhir.resources.R4B.reference import Reference

from services.feedback.fhir.resources import QUESTIONNAIRES
from shared.contracts import FEEDBACK_SUBMITTED
from shared.instruments import INSTRUMENTS, Instrument
from tests.integration.feedback.conftest import Intake, running_intake
from tests.support.fhir_schema import fhir_problems
from tests.support.kafka import records_matching
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
FHIR_JSON = "application/fhir+json"
RESPONSES = "/v1/fhir/QuestionnaireResponse"
# The canonical URLs and extensions as docs/integration.md publishes them.
CANONICAL = "https://alliance-platform.org/fhir/Questionnaire/{}"
THERAPIST = "https://alliance-platform.org/fhir/StructureDefinition/therapist"
SESSION_AT = "https://alliance-platform.org/fhir/StructureDefinition/session-at"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
MAX_DECIMAL_PLACES = "http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces"
# Who rates each instrument: the ORS is the client's own account of their week; the others ask both sides.
RESPONDENTS = [
    (instrument, respondent)
    for instrument in Instrument
    for respondent in (("client",) if instrument is Instrument.ORS else ("client", "therapist"))
]
Pick = Literal["lowest", "middle", "highest"]
Respondent = Literal["client", "therapist"]


@pytest.fixture
async def intake(servers: Servers, unique: str) -> AsyncIterator[Intake]:
    async with running_intake(servers.kafka_bootstrap, servers.mongodb_uri, unique) as running:
        yield running


async def served(intake: Intake, instrument: Instrument) -> tuple[dict[str, Any], Questionnaire]:
    """The instrument's Questionnaire, read by its name with no key (a public definition), and as the library
    parses it."""
    answer = await intake.http.get(f"/fhir/Questionnaire/{instrument.value}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(FHIR_JSON)
    document: dict[str, Any] = answer.json()
    return document, Questionnaire.model_validate(document)


def extension(item: QuestionnaireItem, url: str) -> Extension | None:
    return next((e for e in item.extension or [] if e.url == url), None)


def allowed_range(item: QuestionnaireItem) -> tuple[Decimal, Decimal]:
    """The answers a renderer lets through, by the item's type: its options, or its minValue and maxValue."""
    if item.type == "boolean":
        return Decimal(0), Decimal(1)
    if item.type == "choice":
        options = [Decimal(str(option.valueInteger)) for option in item.answerOption or []]
        assert options == [options[0] + k for k in range(len(options))], "options are a whole-number scale"
        return options[0], options[-1]
    low, high = extension(item, MIN_VALUE), extension(item, MAX_VALUE)
    assert low is not None and high is not None, f"{item.linkId}: no minValue/maxValue"
    field = "valueDecimal" if item.type == "decimal" else "valueInteger"
    return Decimal(str(getattr(low, field))), Decimal(str(getattr(high, field)))


@pytest.mark.parametrize("instrument", list(Instrument), ids=lambda i: i.value)
async def test_every_instrument_has_a_questionnaire_of_the_intakes_items_and_ranges(
    intake: Intake, instrument: Instrument
) -> None:
    document, questionnaire = await served(intake, instrument)
    spec = INSTRUMENTS[instrument]

    assert fhir_problems(document) == []
    assert questionnaire.url == CANONICAL.format(instrument.value)
    assert QUESTIONNAIRES[questionnaire.url] == instrument.value  # the very URL the intake maps
    assert (questionnaire.status, questionnaire.subjectType) == ("active", ["Patient"])
    assert questionnaire.version and questionnaire.name and questionnaire.title
    items = {item.linkId: item for item in questionnaire.item or []}
    assert list(items) == [*spec.items, "comment"]
    for name in spec.items:
        item = items[name]
        assert item.text, name
        assert item.required is not spec.any_of, name
        assert allowed_range(item) == spec.bounds(name), name
        if not spec.integers_only:
            assert item.type == "decimal"
            places = extension(item, MAX_DECIMAL_PLACES)
            assert places is not None and places.valueInteger == 1, name
        else:
            yes_no = spec.bounds(name) == (Decimal(0), Decimal(1))
            assert item.type == "boolean" if yes_no else item.type in ("integer", "choice"), name
        gated = spec.gate is not None and name != spec.gate[0]
        assert bool(item.enableWhen) is gated, name
    comment = items["comment"]
    assert (comment.type, comment.required, comment.maxLength) == ("text", False, 2000)

    by_id = await intake.http.get(f"/fhir/Questionnaire/{questionnaire.id}")
    assert by_id.status_code == 200 and by_id.json() == document


async def test_the_questionnaires_are_found_by_search_and_by_canonical_url(intake: Intake) -> None:
    everything = await intake.http.get("/fhir/Questionnaire")
    assert everything.status_code == 200, everything.text
    assert everything.headers["content-type"].startswith(FHIR_JSON)
    assert fhir_problems(everything.json()) == []
    bundle = Bundle.model_validate(everything.json())
    assert (bundle.type, bundle.total) == ("searchset", len(Instrument))
    entries = [entry.model_dump(mode="json") for entry in bundle.entry or []]
    assert sorted(entry["resource"]["url"] for entry in entries) == sorted(
        CANONICAL.format(i.value) for i in Instrument
    )
    for entry in entries:
        assert entry["search"]["mode"] == "match"
        read = await intake.http.get(entry["fullUrl"])
        assert read.status_code == 200 and read.json()["url"] == entry["resource"]["url"]

    for canonical in (CANONICAL.format("wai_sr"), CANONICAL.format("wai_sr") + "|1"):
        found = await intake.http.get("/fhir/Questionnaire", params={"url": canonical})
        assert found.status_code == 200, found.text
        assert [entry["resource"]["url"] for entry in found.json()["entry"]] == [CANONICAL.format("wai_sr")]
    nothing = await intake.http.get("/fhir/Questionnaire", params={"url": CANONICAL.format("phq9")})
    assert (nothing.json()["total"], nothing.json().get("entry", [])) == (0, [])


async def test_an_unknown_questionnaire_is_a_404_operation_outcome(intake: Intake) -> None:
    answer = await intake.http.get("/fhir/Questionnaire/phq9")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith(FHIR_JSON)
    assert fhir_problems(answer.json()) == []
    assert OperationOutcome.model_validate(answer.json()).issue[0].code == "not-found"


def answer_for(item: QuestionnaireItem, pick: Pick) -> dict[str, Any] | None:
    """What a person picks on a renderer's control for ``item``: its lowest, a middle or its highest answer."""
    if item.type == "text":
        return {"valueString": "Felt rushed at the end."} if pick == "middle" else None
    if item.type == "boolean":
        return {"valueBoolean": pick != "lowest"}
    low, high = allowed_range(item)
    if item.type == "decimal":
        places = extension(item, MAX_DECIMAL_PLACES)
        step = Decimal(1).scaleb(-(places.valueInteger or 0 if places else 0))
        middle = (low + (high - low) * Decimal("0.73")).quantize(step)
        return {"valueDecimal": {"lowest": low, "middle": middle, "highest": high}[pick]}
    middle = (low + high) // 2
    return {"valueInteger": int({"lowest": low, "middle": middle, "highest": high}[pick])}


def enabled(item: QuestionnaireItem, given: dict[str | None, Any]) -> bool:
    for condition in item.enableWhen or []:
        assert condition.operator == "=", condition.operator
        wanted = next(
            value
            for value in (condition.answerBoolean, condition.answerInteger, condition.answerDecimal)
            if value is not None
        )
        if given.get(condition.question) != wanted:
            return False
    return True


def filled_in(questionnaire: Questionnaire, pick: Pick) -> list[QuestionnaireResponseItem]:
    given: dict[str | None, Any] = {}
    items = []
    for item in questionnaire.item or []:
        if item.type == "display" or not enabled(item, given):
            continue
        answer = answer_for(item, pick)
        if answer is None:
            continue
        given[item.linkId] = next(iter(answer.values()))
        items.append(
            QuestionnaireResponseItem(linkId=item.linkId, answer=[QuestionnaireResponseItemAnswer(**answer)])
        )
    return items


def response(
    questionnaire: Questionnaire,
    client_id: str,
    respondent: Respondent,
    items: list[QuestionnaireResponseItem],
) -> QuestionnaireResponse:
    """A completed response as an EHR builds it with the library: the client's session s-1 with therapist t-1."""
    by_therapist = respondent == "therapist"
    extensions = [Extension(url=SESSION_AT, valueDateTime="2026-11-20T10:00:00+00:00")]
    if not by_therapist:
        extensions.append(Extension(url=THERAPIST, valueReference=Reference(reference="Practitioner/t-1")))
    return QuestionnaireResponse(
        status="completed",
        questionnaire=f"{questionnaire.url}|{questionnaire.version}",
        subject=Reference(reference=f"Patient/{client_id}"),
        encounter=Reference(reference="Encounter/s-1"),
        author=Reference(reference="Practitioner/t-1" if by_therapist else f"Patient/{client_id}"),
        authored="2026-11-20T10:55:00+00:00",
        extension=extensions,
        item=items,
    )


async def post(intake: Intake, body: str) -> Any:
    return await intake.http.post(RESPONSES, content=body, headers={**intake.auth, "Content-Type": FHIR_JSON})


def scores(items: list[QuestionnaireResponseItem]) -> dict[str, float]:
    values = {}
    for item in items:
        if item.linkId is not None and item.linkId != "comment":
            answer = (item.answer or [])[0]
            value = next(
                v for v in (answer.valueDecimal, answer.valueInteger, answer.valueBoolean) if v is not None
            )
            values[item.linkId] = float(value)
    return values


@pytest.mark.parametrize(
    ("instrument", "respondent"), RESPONDENTS, ids=[f"{i.value}-{r}" for i, r in RESPONDENTS]
)
async def test_responses_a_renderer_lets_through_are_accepted_and_land_as_feedback(
    intake: Intake, unique: str, instrument: Instrument, respondent: Respondent
) -> None:
    _, questionnaire = await served(intake, instrument)
    client_id = f"c-{unique}"
    sent: dict[str, dict[str, float]] = {}
    for pick in ("lowest", "middle", "highest"):
        items = filled_in(questionnaire, pick)
        body = response(questionnaire, client_id, respondent, items).model_dump_json()
        assert fhir_problems(json.loads(body)) == []
        answer = await post(intake, body)
        assert answer.status_code == 202, (pick, answer.text)
        assert answer.headers["content-type"].startswith(FHIR_JSON)
        outcome = OperationOutcome.model_validate(answer.json())
        assert outcome.id is not None and outcome.issue[0].severity == "information"
        sent[outcome.id] = scores(items)

    records = await records_matching(
        intake.kafka_bootstrap,
        "client.events",
        lambda record: json.loads(record.value)["id"] in sent,
        expected=len(sent),
    )
    events = [FEEDBACK_SUBMITTED.decode(record.value) for record in records]
    assert {event.id: event.data.items for event in events} == sent
    assert {(event.data.instrument.value, event.data.respondent.value) for event in events} == {
        (instrument.value, respondent)
    }


Change = Callable[[dict[str, Any]], None]


def set_answer(index: int, **answer: Any) -> Change:
    def change(body: dict[str, Any]) -> None:
        body["item"][index]["answer"] = [answer]

    return change


def drop_item(link_id: str) -> Change:
    def change(body: dict[str, Any]) -> None:
        body["item"] = [item for item in body["item"] if item["linkId"] != link_id]

    return change


def rename_item(index: int, link_id: str) -> Change:
    def change(body: dict[str, Any]) -> None:
        body["item"][index]["linkId"] = link_id

    return change


def set_element(name: str, value: Any) -> Change:
    def change(body: dict[str, Any]) -> None:
        if value is None:
            body.pop(name)
        else:
            body[name] = value

    return change


def only_comment(body: dict[str, Any]) -> None:
    body["item"] = [{"linkId": "comment", "answer": [{"valueString": "No goals rated."}]}]


QR = "QuestionnaireResponse"
REFUSED: list[tuple[str, Instrument, Pick, Change, set[str]]] = [
    ("unknown-linkId", Instrument.SRS, "middle", rename_item(3, "overal"),
     {f"{QR}.item[3].linkId", f"{QR}.item.where(linkId = 'overall')"}),
    ("out-of-range", Instrument.SRS, "middle", set_answer(0, valueDecimal=10.5),
     {f"{QR}.item[0].answer[0].valueDecimal"}),
    ("two-decimals", Instrument.ORS, "middle", set_answer(2, valueDecimal=6.25),
     {f"{QR}.item[2].answer[0].valueDecimal"}),
    ("not-an-option", Instrument.WAI_SR, "middle", set_answer(6, valueInteger=6),
     {f"{QR}.item[6].answer[0].valueInteger"}),
    ("a-fraction", Instrument.GBO, "middle", set_answer(1, valueDecimal=6.5),
     {f"{QR}.item[1].answer[0].valueDecimal"}),
    ("string-for-a-score", Instrument.SRS, "middle", set_answer(1, valueString="8"),
     {f"{QR}.item[1].answer[0].valueString"}),
    ("boolean-for-a-score", Instrument.SRS, "middle", set_answer(2, valueBoolean=True),
     {f"{QR}.item[2].answer[0].valueBoolean"}),
    ("coding-for-a-score", Instrument.WAI_SR, "middle", set_answer(0, valueCoding={"code": "4"}),
     {f"{QR}.item[0].answer[0].valueCoding"}),
    ("text-in-a-decimal", Instrument.SRS, "middle", set_answer(0, valueDecimal="high"),
     {f"{QR}.item[0].answer[0].valueDecimal"}),
    ("missing-item", Instrument.SRS, "middle", drop_item("approach"),
     {f"{QR}.item.where(linkId = 'approach')"}),
    ("missing-follow-ups", Instrument.PSQ, "highest", lambda body: body.update(item=body["item"][:1]),
     {f"{QR}.item.where(linkId = 'intensity')", f"{QR}.item.where(linkId = 'resolution')"}),
    ("follow-up-without-tension", Instrument.PSQ, "lowest",
     lambda body: body["item"].insert(1, {"linkId": "intensity", "answer": [{"valueInteger": 3}]}),
     {f"{QR}.item[1]"}),
    ("no-goal-rated", Instrument.GBO, "middle", only_comment, {f"{QR}.item"}),
    ("wrong-questionnaire", Instrument.SRS, "middle", set_element("questionnaire", CANONICAL.format("phq9")),
     {f"{QR}.questionnaire"}),
    ("no-subject", Instrument.SRS, "middle", set_element("subject", None), {f"{QR}.subject"}),
    ("in-progress", Instrument.ORS, "middle", set_element("status", "in-progress"), {f"{QR}.status"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("instrument", "pick", "change", "expressions"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
async def test_what_the_questionnaire_does_not_allow_is_refused_naming_the_element(
    intake: Intake, instrument: Instrument, pick: Pick, change: Change, expressions: set[str]
) -> None:
    _, questionnaire = await served(intake, instrument)
    body = json.loads(
        response(questionnaire, "c-1", "client", filled_in(questionnaire, pick)).model_dump_json()
    )
    change(body)
    answer = await post(intake, json.dumps(body))

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith(FHIR_JSON)
    assert fhir_problems(answer.json()) == []
    outcome = OperationOutcome.model_validate(answer.json())
    assert {issue.severity for issue in outcome.issue} == {"error"}
    assert {expression for issue in outcome.issue for expression in issue.expression or []} == expressions
