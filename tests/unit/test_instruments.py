from decimal import Decimal

import pytest

from shared.instruments import (
    AllianceDimension,
    Instrument,
    InvalidScores,
    Respondent,
    Scores,
    parse_respondent,
    srs_dimension,
    validate_scores,
    wai_sr_subscales,
)

SRS_OK: dict[str, object] = {"relationship": 9.1, "goals": 8.4, "approach": 8.8, "overall": 8.9}
WAI_OK: dict[str, object] = {f"q{i}": (i % 5) + 1 for i in range(1, 13)}


def test_srs_total_is_exact() -> None:
    scores = validate_scores("srs", SRS_OK)
    assert scores.total == Decimal("35.2")  # 9.1 + 8.4 + 8.8 + 8.9 in floats is 35.199999...
    assert scores.instrument is Instrument.SRS


def test_items_are_kept_in_the_instruments_order_whatever_the_input_order() -> None:
    scores = validate_scores("ors", {"overall": 5, "social": 6, "interpersonal": 7, "individual": 8})
    assert [name for name, _ in scores.items] == ["individual", "interpersonal", "social", "overall"]
    assert scores.total == Decimal(26)


@pytest.mark.parametrize(
    ("instrument", "items", "total"),
    [
        pytest.param("srs", dict.fromkeys(SRS_OK, 0), Decimal(0), id="srs-all-zero"),
        pytest.param("srs", dict.fromkeys(SRS_OK, 10), Decimal(40), id="srs-all-ten"),
        pytest.param(
            "srs", dict.fromkeys(SRS_OK, Decimal("7.50")), Decimal(30), id="srs-decimal-trailing-zero"
        ),
        pytest.param("wai_sr", {f"q{i}": 1 for i in range(1, 13)}, Decimal(12), id="wai-min"),
        pytest.param("wai_sr", {f"q{i}": 5.0 for i in range(1, 13)}, Decimal(60), id="wai-integral-float"),
    ],
)
def test_boundaries_are_accepted(instrument: str, items: dict[str, object], total: Decimal) -> None:
    assert validate_scores(instrument, items).total == total


def _with(base: dict[str, object], **changes: object) -> dict[str, object]:
    return {**base, **changes}


def _without(base: dict[str, object], name: str) -> dict[str, object]:
    return {k: v for k, v in base.items() if k != name}


@pytest.mark.parametrize(
    ("instrument", "items", "field", "why"),
    [
        pytest.param("phq9", SRS_OK, "instrument", "unknown instrument", id="unknown-instrument"),
        pytest.param("srs", _without(SRS_OK, "goals"), "items.goals", "missing", id="missing-item"),
        pytest.param("srs", _with(SRS_OK, mood=5), "items.mood", "unknown item", id="extra-item"),
        pytest.param("srs", _with(SRS_OK, goals=10.1), "items.goals", "out of range", id="above-range"),
        pytest.param("srs", _with(SRS_OK, goals=-0.1), "items.goals", "out of range", id="below-range"),
        pytest.param("srs", _with(SRS_OK, goals=float("nan")), "items.goals", "finite", id="nan"),
        pytest.param("srs", _with(SRS_OK, goals=float("inf")), "items.goals", "finite", id="infinity"),
        pytest.param("srs", _with(SRS_OK, goals=Decimal("NaN")), "items.goals", "finite", id="decimal-nan"),
        pytest.param("srs", _with(SRS_OK, goals=8.45), "items.goals", "one decimal", id="two-decimals"),
        pytest.param(
            "ors",
            _with(dict.fromkeys(("individual", "interpersonal", "social", "overall"), 5), social=0.05),
            "items.social",
            "one decimal",
            id="ors-two-decimals",
        ),
        pytest.param("srs", _with(SRS_OK, goals=True), "items.goals", "number", id="bool"),
        pytest.param("srs", _with(SRS_OK, goals="8.4"), "items.goals", "number", id="string"),
        pytest.param("srs", _with(SRS_OK, goals=None), "items.goals", "number", id="null"),
        pytest.param("wai_sr", _with(WAI_OK, q7=2.5), "items.q7", "integer", id="wai-half-point"),
        pytest.param("wai_sr", _with(WAI_OK, q7=0), "items.q7", "out of range", id="wai-zero"),
        pytest.param("wai_sr", _with(WAI_OK, q7=6), "items.q7", "out of range", id="wai-six"),
        pytest.param("wai_sr", _without(WAI_OK, "q12"), "items.q12", "missing", id="wai-missing-q12"),
    ],
)
def test_invalid_scores_are_rejected_naming_the_field(
    instrument: str, items: dict[str, object], field: str, why: str
) -> None:
    with pytest.raises(InvalidScores) as raised:
        validate_scores(instrument, items)
    assert raised.value.fields == (field,)
    assert why in raised.value.problems[field]
    assert field in str(raised.value)


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(InvalidScores) as raised:
        validate_scores("srs", {"relationship": 11, "goals": 8, "overall": 8, "bogus": 1})
    assert set(raised.value.fields) == {"items.relationship", "items.approach", "items.bogus"}


def test_scores_cannot_be_built_invalid_by_hand() -> None:
    with pytest.raises(InvalidScores):
        Scores(
            Instrument.SRS,
            (
                ("relationship", Decimal(11)),
                ("goals", Decimal(1)),
                ("approach", Decimal(1)),
                ("overall", Decimal(1)),
            ),
        )
    with pytest.raises(InvalidScores, match="order"):
        Scores(
            Instrument.SRS,
            (
                ("goals", Decimal(1)),
                ("relationship", Decimal(1)),
                ("approach", Decimal(1)),
                ("overall", Decimal(1)),
            ),
        )


@pytest.mark.parametrize(
    ("item", "dimension"),
    [
        ("relationship", AllianceDimension.BOND),
        ("goals", AllianceDimension.GOAL),
        ("approach", AllianceDimension.TASK),
        ("overall", AllianceDimension.GENERAL),
    ],
)
def test_srs_items_map_to_alliance_dimensions(item: str, dimension: AllianceDimension) -> None:
    assert srs_dimension(item) is dimension


def test_wai_sr_subscales() -> None:
    items: dict[str, object] = {f"q{i}": 1 for i in range(1, 13)}
    items.update(q1=5, q2=5, q10=5, q12=5, q3=3)  # task all 5s, one bond item 3
    scores = validate_scores("wai_sr", items)
    assert wai_sr_subscales(scores) == {
        AllianceDimension.TASK: Decimal(20),
        AllianceDimension.BOND: Decimal(6),
        AllianceDimension.GOAL: Decimal(4),
    }
    assert scores.total == Decimal(30)


def test_wai_sr_subscales_refuse_other_instruments() -> None:
    with pytest.raises(InvalidScores):
        wai_sr_subscales(validate_scores("srs", SRS_OK))


@pytest.mark.parametrize(
    ("raw", "expected"), [("client", Respondent.CLIENT), ("therapist", Respondent.THERAPIST)]
)
def test_respondents(raw: str, expected: Respondent) -> None:
    assert parse_respondent(raw) is expected


def test_unknown_respondent_is_rejected() -> None:
    with pytest.raises(InvalidScores) as raised:
        parse_respondent("supervisor")
    assert raised.value.fields == ("respondent",)
