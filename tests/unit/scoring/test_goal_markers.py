"""Goals agreed together (DOMAIN.md version 2, Goal-Based Outcomes): which goal a rating names, and the markers
goal_disagreement and goal_setback."""

from decimal import Decimal

import pytest

from services.scoring.domain import (
    AllianceDimension,
    ClientHistory,
    MarkerCode,
    MarkerFamily,
    Severity,
    assess_client,
)
from services.scoring.domain.goals import active_goals, client_ratings, therapist_ratings

from .builders import CLIENT, CLINIC, assess, facts_of, history_of, table

C = MarkerCode


def _goal_markers(specs: list[str], **overrides: object) -> list[tuple[int, str, str, str]]:
    """(session, code, observed, threshold) of every goal marker."""
    assessment = assess(specs, table(overrides))
    return [
        (n, m.code.value, str(m.observed), str(m.threshold))
        for n, marked in enumerate(assessment.sessions, start=1)
        for m in marked.markers
        if m.code in (C.GOAL_DISAGREEMENT, C.GOAL_SETBACK)
    ]


MARKERS = [
    pytest.param(["38+goals=g1+gbo=3+tgbo=6"], [(1, "goal_disagreement", "3", "3")], id="three-apart"),
    pytest.param(["38+goals=g1+gbo=3+tgbo=5"], [], id="two-apart-is-nothing"),
    pytest.param(["38+goals=g1+gbo=7+tgbo=2"], [(1, "goal_disagreement", "5", "3")], id="either-way"),
    pytest.param(
        ["38+goals=g1/g2+gbo=2/8+tgbo=6/2"],
        [(1, "goal_disagreement", "4", "3"), (1, "goal_disagreement", "6", "3")],
        id="once-per-goal",
    ),
    pytest.param(["38+goals=g1+gbo=3", "38+tgbo=8"], [], id="only-within-one-session"),
    pytest.param(["38+goals=g1+gbo=6", "38+gbo=3"], [(2, "goal_setback", "3", "3")], id="setback-of-three"),
    pytest.param(["38+goals=g1+gbo=6", "38+gbo=4"], [], id="two-down-is-nothing"),
    pytest.param(
        ["38+goals=g1+gbo=4", "38+gbo=8", "38+gbo=6", "38+gbo=5"],
        [(4, "goal_setback", "5", "5")],
        id="against-the-best-earlier-rating-not-the-last",
    ),
    pytest.param(["38+gbo=6", "38+gbo=2"], [], id="no-agreed-goal-no-marker"),
    pytest.param(
        ["38+goals=g1/g2+gbo=8/2", "38+goals=g2/g1+gbo=2/8"],
        [],
        id="a-revision-reorders-the-slots-by-goal",
    ),
    pytest.param(
        ["38+goals=g1+gbo=8+close=g1", "38+goals=g3+gbo=2"],
        [],
        id="a-new-goal-has-no-earlier-best",
    ),
]


@pytest.mark.parametrize(("specs", "expected"), MARKERS)
def test_goal_markers(specs: list[str], expected: list[tuple[int, str, str, str]]) -> None:
    assert _goal_markers(specs) == expected


def test_the_margin_is_a_clinic_setting() -> None:
    specs = ["38+goals=g1+gbo=6+tgbo=8", "38+gbo=4"]
    assert _goal_markers(specs) == []
    assert _goal_markers(specs, goal_reliable_change=2) == [
        (1, "goal_disagreement", "2", "2"),
        (2, "goal_setback", "4", "4"),
    ]


def test_families_levels_and_dimension() -> None:
    assessment = assess(["38+goals=g1+gbo=6", "38+gbo=2+tgbo=8"], table({}))
    found = {m.code: m for m in assessment.sessions[1].markers}
    disagreement, setback = found[C.GOAL_DISAGREEMENT], found[C.GOAL_SETBACK]
    assert (disagreement.family, disagreement.level, disagreement.dimension) == (
        MarkerFamily.PERSPECTIVE,
        Severity.MEDIUM,
        AllianceDimension.GOAL,
    )
    assert (setback.family, setback.level) == (MarkerFamily.OUTCOME, Severity.MEDIUM)
    # Medium markers of two families: the session is high (version 1's severity rule).
    assert assessment.sessions[1].severity is Severity.HIGH


def test_slots_follow_the_latest_agreement_and_a_closed_goal_leaves_its_slot_empty() -> None:
    sessions = history_of(
        ["38+goals=g1/g2", "38+close=g1", "38", "38+goals=g3/g2", "38+close=g2+gbo=5/6"]
    ).sessions
    slots = [active_goals(sessions[:n], sessions[n]) for n in range(len(sessions))]
    assert slots == [
        ("g1", "g2"),
        ("g1", "g2"),  # closed in session 2: its ratings there still count
        (None, "g2"),  # from then on its slot is empty, so goal_1 names no goal
        ("g3", "g2"),
        ("g3", "g2"),
    ]


def test_a_rating_of_an_empty_slot_rates_no_goal() -> None:
    sessions = history_of(["38+goals=g1/g2+close=g1", "38+gbo=9/4+tgbo=1/5"]).sessions
    assert client_ratings(sessions)[1][1] == {"g2": Decimal(4)}
    assert therapist_ratings(sessions)[1][1] == {"g2": Decimal(5)}


def test_the_order_goals_arrive_in_does_not_matter() -> None:
    specs = ["38+goals=g1+gbo=6", "38+gbo=5", "38+goals=g1/g2+gbo=2/7"]
    forward = assess(specs, table({}))
    backward = assess_client(ClientHistory.of(CLINIC, CLIENT, reversed(facts_of(specs))), table({}))
    assert [m.markers for m in forward.sessions] == [m.markers for m in backward.sessions]
    assert [m.code for m in forward.sessions[2].markers] == [C.GOAL_SETBACK]
