"""Each marker of DOMAIN.md's table, on the session where it fires, with its observed value and threshold."""

from decimal import Decimal

import pytest

from services.scoring.domain import MarkerCode

from .builders import assess, markers_at, table

C = MarkerCode
Fired = list[tuple[str, str, str | None]]  # (observed, threshold, dimension) per marker of that code


def _case(case_id: str, specs: list[str], code: MarkerCode, fired: Fired, **overrides: object) -> object:
    return pytest.param(specs, code, fired, overrides, id=case_id)


def _fired(
    specs: list[str], code: MarkerCode, overrides: dict[str, object]
) -> list[tuple[Decimal, Decimal, str | None]]:
    """The markers with ``code`` on the last session."""
    assessment = assess(specs, table(overrides))
    return [
        (m.observed, m.threshold, m.dimension.value if m.dimension else None)
        for m in markers_at(assessment, len(specs), code)
    ]


SCORE_CASES = [
    _case("below-cutoff-35.9", ["35.9"], C.BELOW_CUTOFF, [("35.9", "36", None)]),
    _case("below-cutoff-exactly-36-is-not-below", ["36"], C.BELOW_CUTOFF, []),
    _case("below-cutoff-40", ["40"], C.BELOW_CUTOFF, []),
    _case("below-cutoff-override-38", ["37"], C.BELOW_CUTOFF, [("37.0", "38", None)], srs_cutoff=38),
    _case("item-low-relationship-is-bond", ["srs=7.9/10/10/10"], C.ITEM_LOW, [("7.9", "8.0", "bond")]),
    _case("item-low-goals-is-goal", ["srs=10/7.9/10/10"], C.ITEM_LOW, [("7.9", "8.0", "goal")]),
    _case("item-low-approach-is-task", ["srs=10/10/7.9/10"], C.ITEM_LOW, [("7.9", "8.0", "task")]),
    _case("item-low-overall-is-general", ["srs=10/10/10/7.9"], C.ITEM_LOW, [("7.9", "8.0", "general")]),
    _case("item-low-exactly-8-is-not-low", ["srs=8/8/8/8"], C.ITEM_LOW, []),
    _case(
        "item-low-one-per-low-item",
        ["srs=7/10/6.5/10"],
        C.ITEM_LOW,
        [("7.0", "8.0", "bond"), ("6.5", "8.0", "task")],
    ),
    _case("item-low-ignores-therapist-items", ["srs=9/9/9/9+tsrs=5/9/9/9"], C.ITEM_LOW, []),
    _case("item-low-override-9", ["srs=8.9/10/10/10"], C.ITEM_LOW, [("8.9", "9", "bond")], item_low=9),
]

CHANGE_CASES = [
    _case("drop-from-last-first-session", ["30"], C.DROP_FROM_LAST, []),
    _case("drop-from-last-exactly-1.0-counts", ["38", "37"], C.DROP_FROM_LAST, [("37.0", "37.0", None)]),
    _case("drop-from-last-0.9-does-not", ["38", "37.1"], C.DROP_FROM_LAST, []),
    _case("drop-from-last-equal-totals", ["38", "38"], C.DROP_FROM_LAST, []),
    _case("drop-from-last-rise", ["36", "39"], C.DROP_FROM_LAST, []),
    _case(
        "drop-from-last-skips-sessions-without-srs",
        ["38", "attended", "37"],
        C.DROP_FROM_LAST,
        [("37.0", "37.0", None)],
    ),
    _case("drop-from-last-override-2-not-reached", ["38", "37"], C.DROP_FROM_LAST, [], drop_from_last=2),
    _case(
        "drop-from-last-override-2-reached",
        ["38", "36"],
        C.DROP_FROM_LAST,
        [("36.0", "36.0", None)],
        drop_from_last=2,
    ),
    _case("baseline-one-earlier-total-does-not-apply", ["38", "30"], C.DROP_FROM_BASELINE, []),
    _case(
        "baseline-two-equal-earlier-min-drop-2",
        ["38", "38", "35.9"],
        C.DROP_FROM_BASELINE,
        [("35.9", "36.00", None)],
    ),
    _case("baseline-exactly-on-bound-is-not-below", ["38", "38", "36"], C.DROP_FROM_BASELINE, []),
    # earlier 36, 40: sample sd 2.83 -> bound 38 - 4.24 = 33.76; a population sd (2) would give 35.
    _case("baseline-uses-sample-sd-not-reached", ["36", "40", "34"], C.DROP_FROM_BASELINE, []),
    _case(
        "baseline-uses-sample-sd-reached",
        ["36", "40", "33.7"],
        C.DROP_FROM_BASELINE,
        [("33.7", "33.76", None)],
    ),
    # earlier 30, 38, 34: mean 34, sd exactly 4, 1.5 sd = 6 > 2 -> bound exactly 28.
    _case("baseline-sd-term-exactly-on-bound", ["30", "38", "34", "28"], C.DROP_FROM_BASELINE, []),
    _case(
        "baseline-sd-term-below-bound",
        ["30", "38", "34", "27.9"],
        C.DROP_FROM_BASELINE,
        [("27.9", "28.00", None)],
    ),
    # the 20 is the sixth earlier total: outside the window of 5, else the mean would be 35 and nothing fires.
    _case(
        "baseline-only-last-5-earlier",
        ["20", "38", "38", "38", "38", "38", "35.9"],
        C.DROP_FROM_BASELINE,
        [("35.9", "36.00", None)],
    ),
    _case(
        "baseline-override-min-earlier-3",
        ["38", "38", "35"],
        C.DROP_FROM_BASELINE,
        [],
        baseline_min_earlier=3,
    ),
    _case(
        "baseline-override-min-drop-3", ["38", "38", "35.5"], C.DROP_FROM_BASELINE, [], baseline_min_drop=3
    ),
    _case(
        "baseline-override-window-2",
        ["20", "38", "38", "35.9"],
        C.DROP_FROM_BASELINE,
        [("35.9", "36.00", None)],
        baseline_window=2,
    ),
    _case("steep-drop-exactly-5", ["38", "33"], C.STEEP_DROP, [("33.0", "33.0", None)]),
    _case("steep-drop-4.9-not", ["38", "33.1"], C.STEEP_DROP, []),
    _case("steep-drop-floor-first-session", ["29.9"], C.STEEP_DROP, [("29.9", "30", None)]),
    _case("steep-drop-floor-exactly-30-not", ["30"], C.STEEP_DROP, []),
    _case("steep-drop-floor-after-small-drop", ["31", "29.5"], C.STEEP_DROP, [("29.5", "30", None)]),
    _case("steep-drop-both-rules-one-marker", ["38", "20"], C.STEEP_DROP, [("20.0", "33.0", None)]),
    _case("steep-drop-override", ["38", "29"], C.STEEP_DROP, [], steep_drop=10, steep_floor=20),
]

OUTCOME_CASES = [
    _case("ors-first-never-deteriorates", ["ors=10"], C.ORS_DETERIORATION, []),
    _case("ors-exactly-5-below-first", ["ors=30", "ors=25"], C.ORS_DETERIORATION, [("25.0", "25", None)]),
    _case("ors-4.9-below-first-not", ["ors=30", "ors=25.1"], C.ORS_DETERIORATION, []),
    _case(
        "ors-compares-with-first-not-best",
        ["ors=30", "ors=38", "ors=25"],
        C.ORS_DETERIORATION,
        [("25.0", "25", None)],
    ),
    _case("ors-therapist-ratings-ignored", ["ors=30", "tors=10"], C.ORS_DETERIORATION, []),
    _case(
        "ors-override-3",
        ["ors=30", "ors=27"],
        C.ORS_DETERIORATION,
        [("27.0", "27", None)],
        ors_deterioration=3,
    ),
]

BEHAVIOUR_CASES = [
    _case("attendance-no-show-right-after-marker", ["38", "30", "no_show"], C.ATTENDANCE, [("1", "2", None)]),
    _case(
        "attendance-late-cancel-two-after-marker",
        ["30", "38", "late_cancel"],
        C.ATTENDANCE,
        [("2", "2", None)],
    ),
    _case("attendance-three-after-marker-not", ["30", "38", "38", "no_show"], C.ATTENDANCE, []),
    _case("attendance-single-no-show-no-marker-not", ["38", "no_show"], C.ATTENDANCE, []),
    _case(
        "attendance-two-absences-in-a-row", ["38", "no_show", "late_cancel"], C.ATTENDANCE, [("2", "2", None)]
    ),
    _case("attendance-absences-not-in-a-row", ["no_show", "attended+38", "no_show"], C.ATTENDANCE, []),
    _case(
        "attendance-cancelled-session-skipped-in-window",
        ["30", "cancelled", "38", "no_show"],
        C.ATTENDANCE,
        [("2", "2", None)],
    ),
    _case(
        "attendance-cancelled-session-skipped-in-run",
        ["no_show", "cancelled", "no_show"],
        C.ATTENDANCE,
        [("2", "2", None)],
    ),
    _case("attendance-cancelled-is-no-absence", ["cancelled", "cancelled"], C.ATTENDANCE, []),
    _case("attendance-outcome-marker-is-not-alliance", ["ors=30", "ors=20", "no_show"], C.ATTENDANCE, []),
    _case(
        "attendance-override-window-3",
        ["30", "38", "38", "no_show"],
        C.ATTENDANCE,
        [("3", "3", None)],
        attendance_window=3,
    ),
    _case("attendance-override-run-3", ["38", "no_show", "no_show"], C.ATTENDANCE, [], absence_run=3),
    _case("missing-feedback-one-session-not", ["attended"], C.MISSING_FEEDBACK, []),
    _case("missing-feedback-two-in-a-row", ["attended", "late"], C.MISSING_FEEDBACK, [("2", "2", None)]),
    _case(
        "missing-feedback-three-in-a-row",
        ["attended", "attended", "attended"],
        C.MISSING_FEEDBACK,
        [("3", "2", None)],
    ),
    _case("missing-feedback-srs-between", ["attended", "attended+38", "attended"], C.MISSING_FEEDBACK, []),
    _case("missing-feedback-no-show-breaks-run", ["attended", "no_show", "attended"], C.MISSING_FEEDBACK, []),
    _case(
        "missing-feedback-cancelled-skipped",
        ["attended", "cancelled", "attended"],
        C.MISSING_FEEDBACK,
        [("2", "2", None)],
    ),
    _case(
        "missing-feedback-unknown-attendance-presumed-held",
        ["attended", "tsrs=38"],
        C.MISSING_FEEDBACK,
        [("2", "2", None)],
    ),
    _case("missing-feedback-no-show-itself-not", ["attended", "no_show"], C.MISSING_FEEDBACK, []),
    _case(
        "missing-feedback-override-run-3",
        ["attended", "attended"],
        C.MISSING_FEEDBACK,
        [],
        missing_feedback_run=3,
    ),
]

PERSPECTIVE_CASES = [
    _case("blindspot-gap-exactly-5", ["srs=35+tsrs=40"], C.BLINDSPOT, [("5.0", "5", None)]),
    _case("blindspot-gap-5-in-tenths", ["srs=30.9+tsrs=35.9"], C.BLINDSPOT, [("5.0", "5", None)]),
    _case("blindspot-gap-4.9-not", ["srs=35+tsrs=39.9"], C.BLINDSPOT, []),
    _case("blindspot-client-at-cutoff-not", ["srs=36+tsrs=40"], C.BLINDSPOT, [], blindspot_gap=3),
    _case(
        "blindspot-client-below-cutoff",
        ["srs=35.9+tsrs=40"],
        C.BLINDSPOT,
        [("4.1", "3", None)],
        blindspot_gap=3,
    ),
    _case("blindspot-no-therapist-rating", ["srs=30"], C.BLINDSPOT, []),
    _case("blindspot-therapist-lower-not", ["srs=35+tsrs=20"], C.BLINDSPOT, []),
    _case("blindspot-override-gap-3", ["srs=35+tsrs=38"], C.BLINDSPOT, [("3.0", "3", None)], blindspot_gap=3),
]


@pytest.mark.parametrize(
    ("specs", "code", "fired", "overrides"),
    SCORE_CASES + CHANGE_CASES + OUTCOME_CASES + BEHAVIOUR_CASES + PERSPECTIVE_CASES,
)
def test_marker(specs: list[str], code: MarkerCode, fired: Fired, overrides: dict[str, object]) -> None:
    # Decimals compare by value: "25" == "25.0"
    assert _fired(specs, code, overrides) == [(Decimal(o), Decimal(t), d) for o, t, d in fired]


def test_markers_of_a_session_come_in_table_order() -> None:
    assessment = assess(["38", "38", "srs=7.5/7/7.5/7+tsrs=38"])
    assert [m.code for m in assessment.sessions[-1].markers] == [
        C.BELOW_CUTOFF,
        C.ITEM_LOW,
        C.ITEM_LOW,
        C.ITEM_LOW,
        C.ITEM_LOW,
        C.DROP_FROM_LAST,
        C.DROP_FROM_BASELINE,
        C.STEEP_DROP,
        C.BLINDSPOT,
    ]


def test_marked_session_carries_total_and_baseline() -> None:
    marked = assess(["38", "37", "30", "attended"]).sessions
    assert [m.srs_total for m in marked] == [Decimal(38), Decimal(37), Decimal(30), None]
    # The steep drop to 30 is not the client's usual: the fourth session is judged against 38 and 37.
    assert [m.baseline for m in marked] == [None, Decimal("38.00"), Decimal("37.50"), Decimal("37.50")]
