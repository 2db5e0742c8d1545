from decimal import Decimal

import pytest

from services.scoring.domain import Marker, MarkerCode, MarkerFamily, Severity, severity_of

C = MarkerCode


def _markers(*codes: MarkerCode) -> list[Marker]:
    return [Marker(code, Decimal(0), Decimal(0)) for code in codes]


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        pytest.param((), Severity.NONE, id="no-marker-none"),
        pytest.param((C.DROP_FROM_LAST,), Severity.LOW, id="one-low-low"),
        pytest.param(
            (C.DROP_FROM_LAST, C.MISSING_FEEDBACK), Severity.LOW, id="lows-of-two-families-stay-low"
        ),
        pytest.param((C.BELOW_CUTOFF,), Severity.MEDIUM, id="one-medium-medium"),
        pytest.param(
            (C.BELOW_CUTOFF, C.ITEM_LOW, C.ITEM_LOW), Severity.MEDIUM, id="mediums-one-family-medium"
        ),
        pytest.param((C.DROP_FROM_LAST, C.BELOW_CUTOFF), Severity.MEDIUM, id="low-and-medium-medium"),
        pytest.param(
            (C.DROP_FROM_LAST, C.DROP_FROM_BASELINE), Severity.MEDIUM, id="low-and-medium-same-family"
        ),
        pytest.param(
            (C.MISSING_FEEDBACK, C.BELOW_CUTOFF), Severity.MEDIUM, id="low-other-family-does-not-count"
        ),
        pytest.param(
            (C.BELOW_CUTOFF, C.DROP_FROM_BASELINE), Severity.HIGH, id="mediums-score-and-change-high"
        ),
        pytest.param(
            (C.ORS_DETERIORATION, C.ATTENDANCE), Severity.HIGH, id="mediums-outcome-and-behaviour-high"
        ),
        pytest.param((C.BLINDSPOT, C.BELOW_CUTOFF), Severity.HIGH, id="mediums-perspective-and-score-high"),
        pytest.param((C.STEEP_DROP,), Severity.HIGH, id="one-high-high"),
    ],
)
def test_session_severity(codes: tuple[MarkerCode, ...], expected: Severity) -> None:
    assert severity_of(_markers(*codes)) is expected


def test_severity_is_ordered() -> None:
    assert Severity.NONE < Severity.LOW < Severity.MEDIUM < Severity.HIGH
    assert sorted([Severity.HIGH, Severity.NONE, Severity.MEDIUM, Severity.LOW]) == [
        Severity.NONE,
        Severity.LOW,
        Severity.MEDIUM,
        Severity.HIGH,
    ]
    assert max(Severity.LOW, Severity.HIGH, Severity.MEDIUM) is Severity.HIGH
    assert Severity.MEDIUM >= Severity.MEDIUM and not Severity.MEDIUM > Severity.MEDIUM


@pytest.mark.parametrize(
    ("code", "family", "level"),
    [
        (C.BELOW_CUTOFF, MarkerFamily.SCORE, Severity.MEDIUM),
        (C.ITEM_LOW, MarkerFamily.SCORE, Severity.MEDIUM),
        (C.DROP_FROM_LAST, MarkerFamily.CHANGE, Severity.LOW),
        (C.DROP_FROM_BASELINE, MarkerFamily.CHANGE, Severity.MEDIUM),
        (C.STEEP_DROP, MarkerFamily.CHANGE, Severity.HIGH),
        (C.ORS_DETERIORATION, MarkerFamily.OUTCOME, Severity.MEDIUM),
        (C.ATTENDANCE, MarkerFamily.BEHAVIOUR, Severity.MEDIUM),
        (C.MISSING_FEEDBACK, MarkerFamily.BEHAVIOUR, Severity.LOW),
        (C.BLINDSPOT, MarkerFamily.PERSPECTIVE, Severity.MEDIUM),
    ],
    ids=lambda value: value.value if isinstance(value, MarkerCode) else None,
)
def test_marker_family_and_level_follow_the_table(
    code: MarkerCode, family: MarkerFamily, level: Severity
) -> None:
    marker = Marker(code, Decimal(0), Decimal(0))
    assert (marker.family, marker.level) == (family, level)
