"""What is owed is a pure diff between the recomputed timeline and what was already announced."""

from services.scoring.domain import (
    ClientHistory,
    EmittedLog,
    RuptureResolved,
    RuptureSuspected,
    Severity,
    assess_client,
    owed_events,
)

from .builders import CLIENT, CLINIC, TABLE, assess, srs


def test_everything_is_owed_once() -> None:
    timeline = assess(["38", "35", "29", "37.5"]).timeline
    owed = owed_events(timeline, EmittedLog())
    assert owed == timeline.events and len(owed) == 3
    assert owed_events(timeline, EmittedLog().record(owed)) == ()


def test_alerts_only_go_up() -> None:
    timeline = assess(["38", "35", "29"]).timeline  # medium at s02, high at s03
    high = timeline.events[1]
    assert isinstance(high, RuptureSuspected) and high.severity is Severity.HIGH
    assert owed_events(timeline, EmittedLog().record([high])) == ()


def test_the_stale_alert_is_owed_even_after_a_high_alert() -> None:
    timeline = assess(["38", "38", "38", "29", "30", "30", "30"]).timeline
    first, stale = timeline.events
    assert owed_events(timeline, EmittedLog().record([first])) == (stale,)
    assert owed_events(timeline, EmittedLog().record([first, stale])) == ()


def test_a_resolution_is_owed_only_for_an_alerted_episode() -> None:
    timeline = assess(["38", "37", "37.5"]).timeline  # low episode, below the alert threshold
    assert len(timeline.events) == 1 and isinstance(timeline.events[0], RuptureResolved)
    assert owed_events(timeline, EmittedLog()) == ()


def test_nothing_more_after_a_resolution_was_announced() -> None:
    timeline = assess(["38", "35", "35", "35", "35"]).timeline
    episode_id = timeline.episodes[0].episode_id
    log = EmittedLog(resolved=frozenset({episode_id}), alerted=frozenset({(episode_id, Severity.MEDIUM)}))
    assert owed_events(timeline, log) == ()


def test_a_late_session_that_moves_the_opening_makes_a_new_episode_and_retracts_nothing() -> None:
    s1, s3 = srs(1, "38"), srs(3, "35")
    before = assess_client(ClientHistory.of(CLINIC, CLIENT, [s1, s3]), TABLE)
    log = EmittedLog().record(before.owed_events(EmittedLog()))
    assert [e.session_id for e in before.timeline.events] == ["s03"]

    after = assess_client(ClientHistory.of(CLINIC, CLIENT, [s1, s3, srs(2, "29")]), TABLE)
    owed = after.owed_events(log)
    assert [(e.session_id, e.severity) for e in owed if isinstance(e, RuptureSuspected)] == [
        ("s02", Severity.HIGH)
    ]
    assert owed[0].episode_id != before.timeline.events[0].episode_id


def test_log_records_levels_stale_alerts_and_resolutions() -> None:
    low_item = "srs=7.9/10/10/10"  # medium while the usual is 38: the episode goes stale, then is repaired
    timeline = assess(["38", "38", "38", low_item, low_item, low_item, low_item, "38"]).timeline
    log = EmittedLog().record(timeline.events)
    episode_id = timeline.episodes[0].episode_id
    assert log.alerted == {(episode_id, Severity.MEDIUM), (episode_id, Severity.HIGH)}
    assert log.stale_alerted == {episode_id} and log.resolved == {episode_id}
    assert log.highest_alert(episode_id) is Severity.HIGH and log.highest_alert("other") is Severity.NONE
