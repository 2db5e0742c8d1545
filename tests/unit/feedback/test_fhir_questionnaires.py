"""Each instrument's Questionnaire (built from shared/instruments.py) and the intake's reading of a response:
every problem at its element. Pure: no servers."""

from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from services.feedback.fhir.mapping import UnmappableResponse, to_feedback
from services.feedback.fhir.questionnaires import ItemType, item_type, questionnaire
from services.feedback.fhir.resources import QuestionnaireResponse, canonical_url
from shared.instruments import INSTRUMENTS, Instrument
from tests.support.fhir_schema import fhir_problems

QR = "QuestionnaireResponse"


@pytest.mark.parametrize("instrument", list(Instrument), ids=lambda i: i.value)
def test_every_instruments_questionnaire_is_valid_r4_with_its_items_in_order(instrument: Instrument) -> None:
    resource = questionnaire(instrument)
    assert fhir_problems(resource) == []
    parsed = Questionnaire.model_validate(resource)
    assert parsed.url == canonical_url(instrument)
    assert [item.linkId for item in parsed.item or []] == [*INSTRUMENTS[instrument].items, "comment"]


def test_item_types_follow_the_instruments_ranges() -> None:
    psq, srs, wai_sr, gbo = (
        INSTRUMENTS[i] for i in (Instrument.PSQ, Instrument.SRS, Instrument.WAI_SR, Instrument.GBO)
    )
    assert item_type(srs, "relationship") is ItemType.DECIMAL  # 0–10, one decimal
    assert item_type(psq, "tension") is ItemType.BOOLEAN  # 0 or 1
    assert item_type(psq, "intensity") is ItemType.CHOICE  # 1–5
    assert item_type(wai_sr, "q1") is ItemType.CHOICE  # 1–5
    assert item_type(gbo, "goal_1") is ItemType.INTEGER  # 0–10: eleven points, asked as a number


def test_the_wai_sr_has_a_fhir_id_without_underscore_and_keeps_its_canonical_url() -> None:
    resource = questionnaire(Instrument.WAI_SR)
    assert (resource["id"], resource["url"]) == (
        "wai-sr",
        "https://alliance-platform.org/fhir/Questionnaire/wai_sr",
    )


def test_the_rupture_reports_follow_ups_are_enabled_by_a_yes() -> None:
    items = {item["linkId"]: item for item in questionnaire(Instrument.PSQ)["item"]}
    assert "enableWhen" not in items["tension"]
    for follow_up in ("intensity", "resolution"):
        assert items[follow_up]["enableWhen"] == [
            {"question": "tension", "operator": "=", "answerBoolean": True}
        ]
        assert items[follow_up]["required"] is True


def test_goal_ratings_require_no_single_goal_but_one_at_least() -> None:
    resource = questionnaire(Instrument.GBO)
    assert not any(item["required"] for item in resource["item"])
    [constraint] = resource["extension"]
    assert constraint["url"] == "http://hl7.org/fhir/StructureDefinition/questionnaire-constraint"
    expression = next(e["valueString"] for e in constraint["extension"] if e["url"] == "expression")
    assert all(f"linkId = '{name}'" in expression for name in ("goal_1", "goal_2", "goal_3"))


def srs(*items: dict[str, Any], **changes: Any) -> QuestionnaireResponse:
    return QuestionnaireResponse.model_validate(
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "questionnaire": canonical_url(Instrument.SRS),
            "subject": {"reference": "Patient/c-1"},
            "encounter": {"reference": "Encounter/s-1"},
            "author": {"reference": "Practitioner/t-1"},
            "extension": [
                {
                    "url": "https://alliance-platform.org/fhir/StructureDefinition/session-at",
                    "valueDateTime": "2026-11-20T10:00:00+00:00",
                }
            ],
            "item": list(items),
            **changes,
        }
    )


def scored(name: str, **answer: Any) -> dict[str, Any]:
    return {"linkId": name, "answer": [answer]}


FULL = [scored(name, valueDecimal=8.0) for name in ("relationship", "goals", "approach", "overall")]


def refused(response: QuestionnaireResponse) -> dict[str, str]:
    with pytest.raises(UnmappableResponse) as raised:
        to_feedback(response)
    return dict(raised.value.problems)


def test_a_whole_number_answers_a_decimal_item() -> None:
    data = to_feedback(srs(*FULL[:3], scored("overall", valueInteger=9)))
    assert data.items["overall"] == 9.0


def test_a_yes_no_answer_to_a_score_is_refused_at_its_value() -> None:
    problems = refused(srs(*FULL[:3], scored("overall", valueBoolean=True)))
    assert list(problems) == [f"{QR}.item[3].answer[0].valueBoolean"]
    assert "decimal item" in problems[f"{QR}.item[3].answer[0].valueBoolean"]


def test_a_repeated_item_and_an_answer_without_a_value_are_named() -> None:
    problems = refused(srs(*FULL, {"linkId": "goals", "answer": []}, scored("goals", valueDecimal=7.0)))
    assert set(problems) == {f"{QR}.item[4].linkId", f"{QR}.item[5].linkId"}
    problems = refused(srs(*FULL[:3], {"linkId": "overall"}))
    assert set(problems) == {f"{QR}.item[3].answer[0]"}  # not reported again as a missing item


def test_problems_of_items_and_of_other_elements_are_reported_together() -> None:
    problems = refused(srs(*FULL[:3], scored("overall", valueDecimal=-1), status="amended"))
    assert set(problems) == {f"{QR}.status", f"{QR}.item[3].answer[0].valueDecimal"}
    assert problems[f"{QR}.item[3].answer[0].valueDecimal"] == "items.overall: out of range 0-10"


def test_a_yes_no_item_also_takes_one_and_zero() -> None:
    report = srs(
        scored("tension", valueInteger=0),
        questionnaire=canonical_url(Instrument.PSQ),
    )
    assert to_feedback(report).items == {"tension": 0.0}
