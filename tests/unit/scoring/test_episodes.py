"""Episode transitions: open, join, rise, alert, repair, stale, manual resolution, acknowledgement."""

from datetime import timedelta

import pytest

from services.scoring.domain import (
    Acknowledgement,
    ClientAssessment,
    ClinicianActions,
    DomainEvent,
    ManualResolution,
    MarkerCode,
    RuptureResolved,
    RuptureSuspected,
    rupture_episode_id,
)
from services.scoring.domain.actions import InvalidAction

from .builders import CLIENT, CLINIC, assess, session_at, table

Summary = tuple[object, ...]
LOW_ITEM = "srs=7.9/10/10/10"  # one item below 8.0, total 37.9: item_low and nothing else


def _event(event: DomainEvent) -> Summary:
    if isinstance(event, RuptureSuspected):
        return (
            "suspected",
            event.session_id,
            event.severity.value,
            event.previous_severity.value,
            event.stale,
        )
    return ("resolved", event.how.value, event.session_id, event.sessions_to_repair)


def _events(assessment: ClientAssessment) -> list[Summary]:
    return [_event(event) for event in assessment.timeline.events]


def _episodes(assessment: ClientAssessment) -> list[Summary]:
    return [
        (e.opening_session_id, e.severity.value, e.stale, e.resolution.how.value if e.resolution else "open")
        for e in assessment.timeline.episodes
    ]


TRANSITIONS = [
    pytest.param(["38", "38", "37.5"], {}, [], [], id="no-marker-no-episode"),
    pytest.param(["38", "37"], {}, [("s02", "low", False, "open")], [], id="low-opens-without-alert"),
    pytest.param(
        ["38", "35"],
        {},
        [("s02", "medium", False, "open")],
        [("suspected", "s02", "medium", "none", False)],
        id="opens-at-medium-alerts",
    ),
    pytest.param(
        ["38", "37", "35.5"],
        {},
        [("s02", "medium", False, "open")],
        [("suspected", "s03", "medium", "low", False)],
        id="low-rises-to-medium-alerts",
    ),
    pytest.param(
        ["38", "35", "29"],
        {},
        [("s02", "high", False, "open")],
        [("suspected", "s02", "medium", "none", False), ("suspected", "s03", "high", "medium", False)],
        id="medium-rises-to-high-alerts-again",
    ),
    pytest.param(
        ["38", "35", "35"],
        {},
        [("s02", "medium", False, "open")],
        [("suspected", "s02", "medium", "none", False)],
        id="same-level-joins-without-alert",
    ),
    pytest.param(
        ["38", "29", "35"],
        {},
        [("s02", "high", False, "open")],
        [("suspected", "s02", "high", "none", False)],
        id="severity-never-falls",
    ),
    pytest.param(
        ["38", "29", "37.5"],
        {},
        [("s02", "high", False, "repaired")],
        [("suspected", "s02", "high", "none", False), ("resolved", "repaired", "s03", 1)],
        id="v-episode-repaired-next-session",
    ),
    # pre-episode mean 40: 38.5 is below 40 - 1.0 (no repair, no marker), 39.0 is exactly on it (repair).
    pytest.param(
        ["40", "40", "29", "38.5", "39"],
        {},
        [("s03", "high", False, "repaired")],
        [("suspected", "s03", "high", "none", False), ("resolved", "repaired", "s05", 2)],
        id="repair-needs-pre-episode-mean-minus-margin",
    ),
    pytest.param(
        ["40", "40", "29", "38.5"],
        {"repair_margin": 2},
        [("s03", "high", False, "repaired")],
        [("suspected", "s03", "high", "none", False), ("resolved", "repaired", "s04", 1)],
        id="repair-margin-override",
    ),
    pytest.param(
        ["38", "29", "srs=7.9/10/10/10"],
        {},
        [("s02", "high", False, "open")],
        [("suspected", "s02", "high", "none", False)],
        id="no-repair-when-session-has-a-marker",
    ),
    pytest.param(
        ["38", "29", "attended"],
        {},
        [("s02", "high", False, "open")],
        [("suspected", "s02", "high", "none", False)],
        id="no-repair-without-srs",
    ),
    pytest.param(
        ["35", "36"],
        {},
        [("s01", "medium", False, "repaired")],
        [("suspected", "s01", "medium", "none", False), ("resolved", "repaired", "s02", 1)],
        id="first-session-episode-repairs-at-cutoff",
    ),
    # An item below 8.0 (medium while the usual of 38 is above the cutoff) in every session: it still hurts.
    pytest.param(
        ["38", "38", "38", LOW_ITEM, LOW_ITEM, LOW_ITEM, LOW_ITEM],
        {},
        [("s04", "high", True, "open")],
        [("suspected", "s04", "medium", "none", False), ("suspected", "s07", "high", "medium", True)],
        id="stale-after-3-more-sessions-escalates-to-high",
    ),
    pytest.param(
        ["38", "38", "38", LOW_ITEM, LOW_ITEM, LOW_ITEM, "36.5"],
        {},
        [("s04", "medium", False, "open")],
        [("suspected", "s04", "medium", "none", False)],
        id="not-stale-when-the-latest-session-is-calm",
    ),
    pytest.param(
        ["38", "38", "38", LOW_ITEM, LOW_ITEM, LOW_ITEM, "36.5", LOW_ITEM],
        {},
        [("s04", "high", True, "open")],
        [("suspected", "s04", "medium", "none", False), ("suspected", "s08", "high", "medium", True)],
        id="stale-later-when-it-hurts-again",
    ),
    pytest.param(
        ["38", "35", "35", "35"],
        {},
        [("s02", "medium", False, "open")],
        [("suspected", "s02", "medium", "none", False)],
        id="not-stale-after-2-more-sessions",
    ),
    pytest.param(
        ["38", "38", "38", "29", "30", "30", "30"],
        {},
        [("s04", "high", True, "open")],
        [("suspected", "s04", "high", "none", False), ("suspected", "s07", "high", "high", True)],
        id="stale-when-already-high-still-alerts-supervisor",
    ),
    pytest.param(
        ["38", "35", "35", "35", "37.5"],
        {},
        [("s02", "medium", False, "repaired")],
        [("suspected", "s02", "medium", "none", False), ("resolved", "repaired", "s05", 3)],
        id="repair-at-third-session-is-not-stale",
    ),
    pytest.param(
        ["38", "38", "38", LOW_ITEM, "cancelled", LOW_ITEM, LOW_ITEM, LOW_ITEM],
        {},
        [("s04", "high", True, "open")],
        [("suspected", "s04", "medium", "none", False), ("suspected", "s08", "high", "medium", True)],
        id="stale-count-skips-cancelled-sessions",
    ),
    pytest.param(
        ["38", "35", "35"],
        {"stale_after_sessions": 1},
        [("s02", "high", True, "open")],
        [("suspected", "s02", "medium", "none", False), ("suspected", "s03", "high", "medium", True)],
        id="stale-after-override",
    ),
    # The drop to 29 stays out of the usual (38, 37.5): 34 is below it by more than 2 and below the cutoff.
    pytest.param(
        ["38", "29", "37.5", "34"],
        {},
        [("s02", "high", False, "repaired"), ("s04", "high", False, "open")],
        [
            ("suspected", "s02", "high", "none", False),
            ("resolved", "repaired", "s03", 1),
            ("suspected", "s04", "high", "none", False),
        ],
        id="new-episode-after-repair",
    ),
    pytest.param(
        ["38", "35"],
        {"alert_threshold": "high"},
        [("s02", "medium", False, "open")],
        [],
        id="alert-threshold-high-medium-is-silent",
    ),
    pytest.param(
        ["38", "35", "29"],
        {"alert_threshold": "high"},
        [("s02", "high", False, "open")],
        [("suspected", "s03", "high", "medium", False)],
        id="alert-threshold-high-first-alert-at-high",
    ),
    pytest.param(
        ["38", "37"],
        {"alert_threshold": "low"},
        [("s02", "low", False, "open")],
        [("suspected", "s02", "low", "none", False)],
        id="alert-threshold-low",
    ),
    pytest.param(
        ["38", "37", "29"],
        {},
        [("s02", "high", False, "open")],
        [("suspected", "s03", "high", "low", False)],
        id="jump-low-to-high-one-alert",
    ),
    pytest.param(
        ["38", "37", "37.5"],
        {},
        [("s02", "low", False, "repaired")],
        [("resolved", "repaired", "s03", 1)],
        id="repair-of-a-silent-episode-is-in-the-timeline",
    ),
]


@pytest.mark.parametrize(("specs", "overrides", "episodes", "events"), TRANSITIONS)
def test_episode_transitions(
    specs: list[str], overrides: dict[str, object], episodes: list[Summary], events: list[Summary]
) -> None:
    assessment = assess(specs, table(overrides))
    assert _episodes(assessment) == episodes
    assert _events(assessment) == events


def test_episode_id_is_derived_from_clinic_client_and_opening_event() -> None:
    episode = assess(["38", "29"]).timeline.episodes[0]
    assert episode.opened_by_event_id == "fb-2-srs-client"
    assert episode.episode_id == rupture_episode_id(CLINIC, CLIENT, "fb-2-srs-client")
    assert episode.episode_id != rupture_episode_id("clinic-2", CLIENT, "fb-2-srs-client")


def test_an_episode_opened_by_behaviour_rests_on_the_attendance_record() -> None:
    timeline = assess(["attended", "attended+tsrs=30"]).timeline
    assert [e.opened_by_event_id for e in timeline.episodes] == ["att-2"]


def test_episode_collects_markers_and_sessions_that_joined() -> None:
    episode = assess(["38", "35", "36.5", "29"]).timeline.episodes[0]  # 36.5 < 38 - 1: no repair, no marker
    assert episode.session_ids == ("s02", "s04")
    assert MarkerCode.STEEP_DROP in {m.code for m in episode.markers}
    assert episode.sessions_since_opening == 2
    assert str(episode.pre_episode_mean) == "38.00"


def test_alert_carries_the_sessions_total_baseline_and_markers() -> None:
    alert = assess(["38", "37", "35"]).timeline.events[0]
    assert isinstance(alert, RuptureSuspected)
    assert (str(alert.srs_total), str(alert.baseline)) == ("35.0", "37.50")
    assert [m.code for m in alert.markers] == [
        MarkerCode.BELOW_CUTOFF,
        MarkerCode.DROP_FROM_LAST,
        MarkerCode.DROP_FROM_BASELINE,  # 35 < 37.5 - max(2.0, 1.5 x 0.71)
    ]
    assert alert.severity.value == "high"  # mediums from the score and change families


def _resolution(episode_id: str, hours_after_session: int, session: int = 2) -> ManualResolution:
    return ManualResolution(
        episode_id, "sup-1", session_at(session) + timedelta(hours=hours_after_session), "talked it through"
    )


def test_manual_resolution_closes_the_episode_and_later_markers_open_a_new_one() -> None:
    first = assess(["38", "35", "35"]).timeline.episodes[0]
    actions = ClinicianActions().with_resolution(_resolution(first.episode_id, 5))
    assessment = assess(["38", "35", "35"], actions=actions)
    assert _episodes(assessment) == [("s02", "medium", False, "manual"), ("s03", "medium", False, "open")]
    resolved = assessment.timeline.events[1]
    assert _event(resolved) == ("resolved", "manual", None, None)
    assert assessment.timeline.episodes[0].resolution == resolved
    assert isinstance(resolved, RuptureResolved)
    assert (resolved.note, resolved.resolved_by) == ("talked it through", "sup-1")


def test_manual_resolution_of_an_episode_that_is_not_open_is_ignored() -> None:
    actions = ClinicianActions().with_resolution(_resolution("no-such-episode", 5))
    assert _episodes(assess(["38", "35", "35"], actions=actions)) == [("s02", "medium", False, "open")]


def test_manual_resolution_needs_a_note() -> None:
    with pytest.raises(InvalidAction) as raised:
        ManualResolution("ep", "sup-1", session_at(1), "  ")
    assert raised.value.fields == ("note",)


def test_the_earliest_acknowledgement_is_recorded_on_the_episode() -> None:
    episode_id = assess(["38", "35"]).timeline.episodes[0].episode_id
    early = Acknowledgement(episode_id, "t-7", session_at(2) + timedelta(hours=3))
    late = Acknowledgement(episode_id, "t-8", session_at(2) + timedelta(hours=30))
    stray = Acknowledgement("other-episode", "t-7", session_at(2))
    actions = (
        ClinicianActions().with_acknowledgement(late).with_acknowledgement(early).with_acknowledgement(stray)
    )
    episode = assess(["38", "35"], actions=actions).timeline.episodes[0]
    assert episode.acknowledgement == early
    assert assess(["38", "35"]).timeline.episodes[0].acknowledgement is None


def test_open_episode_is_the_unresolved_one() -> None:
    timeline = assess(["38", "29", "37.5", "34"]).timeline
    assert timeline.open_episode is timeline.episodes[1]
    assert timeline.episode(timeline.episodes[0].episode_id) is timeline.episodes[0]
    assert assess(["38", "29", "37.5"]).timeline.open_episode is None
