"""Version 2.1's rule changes, table-driven: the baseline ignores the rupture, case-sensitive score markers,
settling, and stale only while it still hurts (DOMAIN.md "Version 2.1", rules 1 to 4)."""

from decimal import Decimal

import pytest

from services.scoring.domain import (
    ClientAssessment,
    EmittedLog,
    MarkerCode,
    ResolutionHow,
    RuptureResolved,
    RuptureSuspected,
    Severity,
    Thresholds,
    adopted,
    owed_events,
)

from .builders import TABLE, assess, markers_at, table

LOW_ITEM = "srs=7.9/10/10/10"  # one item below 8.0, total 37.9


def alerts(assessment: ClientAssessment) -> list[tuple[str, str, bool]]:
    return [
        (e.session_id, e.severity.value, e.stale)
        for e in assessment.timeline.events
        if isinstance(e, RuptureSuspected)
    ]


def resolutions(assessment: ClientAssessment) -> list[tuple[str | None, str]]:
    return [(e.session_id, e.how.value) for e in assessment.timeline.events if isinstance(e, RuptureResolved)]


# (history, the alerts it implies: (session, severity, stale), the resolutions: (session, how))
CASES = [
    pytest.param(
        ["34"] * 10,
        [("s01", "medium", False)],
        [("s05", "settled"), ("s07", "settled"), ("s09", "settled")],
        id="stable-at-34-one-alert-never-stale",
    ),
    pytest.param(
        ["34.5", "33.5", "34", "35", "33", "34.2", "34.8", "33.6", "34", "35"],
        [("s01", "medium", False)],
        [("s05", "settled"), ("s07", "settled"), ("s09", "settled")],
        id="usual-below-cutoff-with-noise-one-alert",
    ),
    pytest.param(
        ["39", "39", "39", "33.5", "33.5", "33.5", "33.5"],
        [("s04", "high", False), ("s07", "high", True)],
        [],
        id="fall-to-33.5-high-then-stale",
    ),
    pytest.param(
        ["38", "38", "38", "34", "36.5", "36.5", "38", "38", "31"],
        [("s04", "high", False), ("s09", "high", False)],
        [("s06", "settled")],
        id="settles-then-a-new-drop-opens-a-new-episode",
    ),
    pytest.param(
        ["38", "38", "38", "34", "37.5"],
        [("s04", "high", False)],
        [("s05", "repaired")],
        id="back-to-the-usual-is-repaired-not-settled",
    ),
    pytest.param(
        ["38", "38", "38", LOW_ITEM, LOW_ITEM, LOW_ITEM, "36.5"],
        [("s04", "medium", False)],
        [],
        id="not-stale-when-the-latest-session-is-calm",
    ),
    pytest.param(
        ["38", "38", "38", LOW_ITEM, LOW_ITEM, LOW_ITEM, "36.5", "36.5"],
        [("s04", "medium", False)],
        [("s08", "settled")],
        id="two-calm-sessions-settle",
    ),
    pytest.param(
        ["38", "38", "38", LOW_ITEM, LOW_ITEM, LOW_ITEM, "36.5", "attended", "36.5"],
        [("s04", "medium", False)],
        [("s09", "settled")],
        id="settling-counts-sessions-with-a-client-srs",
    ),
]


@pytest.mark.parametrize(("specs", "expected_alerts", "expected_resolutions"), CASES)
def test_version_2_1_alerts_and_resolutions(
    specs: list[str], expected_alerts: list[object], expected_resolutions: list[object]
) -> None:
    assessment = assess(specs)
    assert alerts(assessment) == expected_alerts
    assert resolutions(assessment) == expected_resolutions


def test_a_client_stable_at_34_gets_at_most_one_alert_and_no_stale_escalation() -> None:
    found = alerts(assess(["34"] * 10))
    assert len(found) <= 1
    assert not any(stale for _, _, stale in found)


# The baseline shown for each session: the usual it was judged against.
BASELINES = [
    pytest.param(
        ["39", "39", "39", "33.5", "33.5", "33.5", "33.5"],
        [None, "39.00", "39.00", "39.00", "39.00", "39.00", "39.00"],
        id="inside-an-episode-the-baseline-is-the-one-from-before",
    ),
    pytest.param(
        ["38", "38", "38", "34", "36.5", "36.5", "38"],
        [None, "38.00", "38.00", "38.00", "38.00", "38.00", "37.62"],
        id="the-session-that-settles-is-the-usual-again",
    ),
    pytest.param(
        ["38", "29", "37.5", "37.5"],
        [None, "38.00", "38.00", "37.75"],
        id="a-drop-before-a-baseline-exists-is-never-the-usual",
    ),
    pytest.param(
        ["34", "34", "34", "34"],
        [None, "34.00", "34.00", "34.00"],
        id="before-a-baseline-exists-an-episode-does-not-stop-one-forming",
    ),
]


@pytest.mark.parametrize(("specs", "expected"), BASELINES)
def test_the_baseline_ignores_the_rupture(specs: list[str], expected: list[str | None]) -> None:
    shown = [str(m.baseline) if m.baseline is not None else None for m in assess(specs).sessions]
    assert shown == expected


# (history, the session judged, the level of its below_cutoff and item_low markers)
SCORE_LEVELS = [
    pytest.param(["34"], 1, Severity.MEDIUM, id="no-baseline-the-cutoff-stands-in"),
    pytest.param(["34", "34", "34"], 3, Severity.MEDIUM, id="two-totals-are-no-baseline-yet"),
    pytest.param(["34", "34", "34", "34"], 4, Severity.LOW, id="usual-below-cutoff-low"),
    pytest.param(["36", "36", "36", "35.5"], 4, Severity.MEDIUM, id="usual-at-the-cutoff-medium"),
    pytest.param(["38", "38", "38", "35.5"], 4, Severity.MEDIUM, id="usual-above-the-cutoff-medium"),
    pytest.param(
        ["38", "38", "38", "33.5", "33.5", "33.5", "33.5"],
        7,
        Severity.MEDIUM,
        id="inside-an-episode-judged-against-the-usual-from-before",
    ),
]


@pytest.mark.parametrize(("specs", "n", "level"), SCORE_LEVELS)
def test_score_markers_are_case_sensitive(specs: list[str], n: int, level: Severity) -> None:
    assessment = assess(specs)
    assert [m.level for m in markers_at(assessment, n, MarkerCode.BELOW_CUTOFF)] == [level]


def test_item_low_follows_the_same_case_rule() -> None:
    low = assess(["34", "34", "34", "srs=7.9/9/9/8"])  # usual 34: an item below 8.0 is low
    high = assess(["38", "38", "38", "srs=7.9/10/10/10"])  # usual 38: medium
    assert [m.level for m in markers_at(low, 4, MarkerCode.ITEM_LOW)] == [Severity.LOW]
    assert [m.level for m in markers_at(high, 4, MarkerCode.ITEM_LOW)] == [Severity.MEDIUM]


def test_change_markers_still_alert_a_client_whose_usual_is_below_the_cutoff() -> None:
    assessment = assess(["34", "34", "34", "34", "34", "28"])
    assert ("s06", "high", False) in alerts(assessment)


def test_a_settled_episode_is_not_a_repaired_one() -> None:
    assessment = assess(["38", "38", "38", "34", "36.5", "36.5"])
    (episode,) = assessment.timeline.episodes
    assert episode.resolution is not None and episode.resolution.how is ResolutionHow.SETTLED
    assert episode.resolution.sessions_to_repair is None
    assert (assessment.summary.settled_count, assessment.summary.repaired_count) == (1, 0)


def test_settling_and_establishing_are_clinic_settings() -> None:
    slow = table({"settle_after_calm": 3})
    assert resolutions(assess(["38", "38", "38", "34", "36.5", "36.5"], slow)) == []
    late = table({"baseline_established_after": 5})
    assessment = assess(["34", "34", "34", "34"], late)
    assert [m.level for m in markers_at(assessment, 4, MarkerCode.BELOW_CUTOFF)] == [Severity.MEDIUM]


def test_repair_needs_the_usual_from_before_the_episode() -> None:
    # The usual before the drop is 40; 38.5 is below 40 - 1.0, 39 is on it.
    assessment = assess(["40", "40", "40", "33", "38.5", "39"])
    assert resolutions(assessment) == [("s06", "repaired")]
    assert assessment.timeline.episodes[0].pre_episode_mean == Decimal("40.00")


def test_adopting_a_history_announced_under_other_rules_owes_no_alert_about_it() -> None:
    # Under the old rules one episode was alerted (medium); the current rules see two, the first settled.
    timeline = assess(["38", "38", "38", "34", "36.5", "36.5", "38", "38", "33"]).timeline
    old = EmittedLog(alerted=frozenset({("an-old-episode", Severity.MEDIUM)}))
    assert any(isinstance(e, RuptureSuspected) for e in owed_events(timeline, old))
    log = adopted(timeline, old)
    assert owed_events(timeline, log) == ()
    assert {episode.episode_id for episode in timeline.episodes} <= {e for e, _ in log.alerted}


def test_adopting_keeps_owing_the_resolution_of_an_episode_that_was_announced() -> None:
    timeline = assess(["38", "38", "38", "34", "36.5", "36.5"]).timeline
    (episode,) = timeline.episodes
    alerted = EmittedLog(alerted=frozenset({(episode.episode_id, Severity.MEDIUM)}))
    owed = owed_events(timeline, adopted(timeline, alerted))
    assert [(type(e), e.episode_id) for e in owed] == [(RuptureResolved, episode.episode_id)]


# The three cases the rules were changed for hold in the marker table's numbers and in the shipped defaults.
BOTH = [pytest.param(TABLE, id="marker-table"), pytest.param(Thresholds(), id="defaults")]


@pytest.mark.parametrize("thresholds", BOTH)
def test_stable_at_34_for_ten_sessions_at_most_one_alert_never_stale(thresholds: Thresholds) -> None:
    found = alerts(assess(["34"] * 10, thresholds))
    assert len(found) <= 1 and not any(stale for _, _, stale in found)


@pytest.mark.parametrize("thresholds", BOTH)
def test_a_fall_from_39_to_33_5_alerts_high_then_goes_stale(thresholds: Thresholds) -> None:
    assessment = assess(["39", "39", "39", "33.5", "33.5", "33.5", "33.5"], thresholds)
    assert alerts(assessment) == [("s04", "high", False), ("s07", "high", True)]


@pytest.mark.parametrize("thresholds", BOTH)
def test_an_episode_settles_then_a_new_drop_opens_a_new_one(thresholds: Thresholds) -> None:
    assessment = assess(["38", "38", "38", "34", "36.5", "36.5", "38", "38", "31"], thresholds)
    first, second = assessment.timeline.episodes
    assert first.resolution is not None and first.resolution.how is ResolutionHow.SETTLED
    assert (first.opening_session_id, second.opening_session_id) == ("s04", "s09") and second.is_open
    assert [session for session, _, _ in alerts(assessment)] == ["s04", "s09"]
