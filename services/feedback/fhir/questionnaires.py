"""Each instrument's FHIR R4 Questionnaire, built from shared/instruments.py, so that a form renderer draws what
the intake accepts and an EHR can check a response before it sends it.

| shared/instruments.py | Questionnaire item |
|---|---|
| an item | `linkId` = its name; `required`, except where a rating names any of the items (gbo) |
| values with one decimal (srs, ors: 0–10) | `decimal`, extensions `minValue`, `maxValue`, `maxDecimalPlaces` |
| whole numbers 0–1 (psq's `tension`) | `boolean`: a yes/no question, true is 1 |
| a few whole numbers (at most 7: wai_sr, psq's follow-ups) | `choice`, one `answerOption` (`valueInteger`) each |
| more whole numbers (gbo: 0–10) | `integer`, extensions `minValue`, `maxValue` |
| a gate (psq) | each follow-up has `enableWhen` the gate has its opening answer |
| any of the items, one at least (gbo) | a `questionnaire-constraint` extension saying so |
| (every instrument, last) | `comment`: `text`, optional, at most 2,000 characters |

The words are the ones the client's form shows (services/feedback/links/form.py), the ends of a scale as display
items (item control `lower` and `upper`). Where the repository holds no wording (the WAI-SR's is licensed), an
item's text names its number and subscale.
"""

import json
from decimal import Decimal
from enum import StrEnum
from typing import Any

from services.feedback.fhir.resources import COMMENT, COMMENT_MAX_LENGTH, canonical_url
from services.feedback.links.form import GOAL_ENDS, ITEM_TEXT, REPORT_ANSWERS, REPORT_QUESTIONS
from shared.instruments import INSTRUMENTS, WAI_SR_SUBSCALES, Instrument, InstrumentSpec, title

# Raised when an instrument's items, ranges or wording change. A response's `|version` suffix is not checked.
VERSION = "1"
HL7 = "http://hl7.org/fhir/StructureDefinition"
ITEM_CONTROL = "http://hl7.org/fhir/questionnaire-item-control"
MOST_OPTIONS = 7  # a whole-number scale with more points is asked as a number, not as a list of options
COMMENT_TEXT = "Anything you want to add?"
Resource = dict[str, Any]


class ItemType(StrEnum):
    DECIMAL = "decimal"
    INTEGER = "integer"
    CHOICE = "choice"
    BOOLEAN = "boolean"


def item_type(spec: InstrumentSpec, name: str) -> ItemType:
    low, high = spec.bounds(name)
    if not spec.integers_only:
        return ItemType.DECIMAL
    if low == 0 and high == 1:
        return ItemType.BOOLEAN
    return ItemType.CHOICE if high - low < MOST_OPTIONS else ItemType.INTEGER


def answer_values(kind: ItemType) -> tuple[str, ...]:
    """The value[x] of an answer the intake takes for an item of this type. A number may be written as either
    (the instrument then refuses a fraction where whole numbers are asked, by name); only a yes/no item takes
    true and false."""
    numbers = ("valueDecimal", "valueInteger")
    return ("valueBoolean", *numbers) if kind is ItemType.BOOLEAN else numbers


def questionnaire_id(instrument: Instrument) -> str:
    """The resource's id: the instrument's name with '-' for '_' (a FHIR id has no '_'; wai_sr is wai-sr)."""
    return instrument.value.replace("_", "-")


def questionnaire(instrument: Instrument) -> Resource:
    spec = INSTRUMENTS[instrument]
    resource: Resource = {
        "resourceType": "Questionnaire",
        "id": questionnaire_id(instrument),
        "url": canonical_url(instrument),
        "version": VERSION,
        "name": instrument.name,
        "title": title(instrument),
        "status": "active",
        "subjectType": ["Patient"],
        "description": _description(spec),
        "item": [_question(spec, name) for name in spec.items] + [_comment()],
    }
    if spec.any_of:
        resource["extension"] = [_at_least_one(spec)]
    return resource


def _question(spec: InstrumentSpec, name: str) -> Resource:
    kind = item_type(spec, name)
    low, high = spec.bounds(name)
    text, ends = _wording(spec, name)
    item: Resource = {"linkId": name, "text": text, "type": kind.value, "required": not spec.any_of}
    if kind is ItemType.DECIMAL:
        places = -int(spec.step.as_tuple().exponent)
        item["extension"] = [
            {"url": f"{HL7}/minValue", "valueDecimal": _number(low)},
            {"url": f"{HL7}/maxValue", "valueDecimal": _number(high)},
            {"url": f"{HL7}/maxDecimalPlaces", "valueInteger": places},
        ]
    elif kind is ItemType.INTEGER:
        item["extension"] = [
            {"url": f"{HL7}/minValue", "valueInteger": int(low)},
            {"url": f"{HL7}/maxValue", "valueInteger": int(high)},
        ]
    elif kind is ItemType.CHOICE:
        item["answerOption"] = [{"valueInteger": value} for value in range(int(low), int(high) + 1)]
    if spec.gate is not None and name != spec.gate[0]:
        gate, opening = spec.gate
        item["enableWhen"] = [{"question": gate, "operator": "=", **_answer(spec, gate, opening)}]
    if ends is not None:
        item["item"] = [
            _end(f"{name}.lower", "lower", f"{_number(low)}: {ends[0]}"),
            _end(f"{name}.upper", "upper", f"{_number(high)}: {ends[1]}"),
        ]
    return item


def _wording(spec: InstrumentSpec, name: str) -> tuple[str, tuple[str, str] | None]:
    """The item's question and the words at the two ends of its scale (None: the repository has none)."""
    instrument = spec.instrument
    number = spec.items.index(name) + 1
    if instrument.value in ITEM_TEXT:
        label, lowest, highest = ITEM_TEXT[instrument.value][name]
        return label, (lowest, highest)
    if instrument is Instrument.PSQ:
        answers = REPORT_ANSWERS.get(name)
        low, high = spec.bounds(name)
        return REPORT_QUESTIONS[name], (answers[int(low)], answers[int(high)]) if answers else None
    if instrument is Instrument.GBO:
        return f"Goal {number}", GOAL_ENDS
    if instrument is Instrument.WAI_SR:
        subscale = next(dimension for dimension, items in WAI_SR_SUBSCALES.items() if name in items)
        return f"Item {number} ({subscale.value})", None
    return name, None


def _answer(spec: InstrumentSpec, item: str, value: Decimal) -> Resource:
    """``value`` of ``item`` as an enableWhen's answer[x] of the item's type."""
    kind = item_type(spec, item)
    if kind is ItemType.BOOLEAN:
        return {"answerBoolean": value == 1}
    if kind is ItemType.DECIMAL:
        return {"answerDecimal": _number(value)}
    return {"answerInteger": int(value)}


def _end(link_id: str, control: str, text: str) -> Resource:
    return {
        "linkId": link_id,
        "text": text,
        "type": "display",
        "extension": [
            {
                "url": f"{HL7}/questionnaire-itemControl",
                "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL, "code": control}]},
            }
        ],
    }


def _comment() -> Resource:
    return {
        "linkId": COMMENT,
        "text": COMMENT_TEXT,
        "type": "text",
        "required": False,
        "maxLength": COMMENT_MAX_LENGTH,
    }


def _at_least_one(spec: InstrumentSpec) -> Resource:
    named = " or ".join(f"linkId = '{name}'" for name in spec.items)
    return {
        "url": f"{HL7}/questionnaire-constraint",
        "extension": [
            {"url": "key", "valueId": "at-least-one"},
            {"url": "severity", "valueCode": "error"},
            {"url": "expression", "valueString": f"item.where({named}).answer.exists()"},
            {"url": "human", "valueString": f"Answer at least one of {', '.join(spec.items)}."},
        ],
    }


def _description(spec: InstrumentSpec) -> str:
    kind = "whole numbers" if spec.integers_only else "at most one decimal"
    scales = [_scale(spec, name) for name in spec.items]
    if len(set(scales)) == 1:
        parts = [f"Items {', '.join(spec.items)}: each {scales[0]} ({kind})."]
    else:
        parts = [f"Items {', '.join(f'{n} {s}' for n, s in zip(spec.items, scales, strict=True))} ({kind})."]
    if spec.gate is not None:
        gate, opening = spec.gate
        follow_ups = " and ".join(name for name in spec.items if name != gate)
        answer = next(iter(_answer(spec, gate, opening).values()))
        parts.append(f"{follow_ups.capitalize()} only when {gate} is {json.dumps(answer)}.")
    if spec.any_of:
        parts.append("A rating names any of the items, one at least.")
    parts.append("Send the answers as a QuestionnaireResponse to POST /v1/fhir/QuestionnaireResponse.")
    return " ".join(parts)


def _scale(spec: InstrumentSpec, name: str) -> str:
    if item_type(spec, name) is ItemType.BOOLEAN:
        return "true or false (1 or 0)"
    low, high = spec.bounds(name)
    return f"{_number(low)}–{_number(high)}"


def _number(value: Decimal) -> int | float:
    """A JSON number: whole values as integers (10, not 10.0)."""
    return int(value) if value == value.to_integral_value() else float(value)
