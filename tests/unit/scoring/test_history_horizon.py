"""History is not news: which alerts are about history, and how the log remembers their episodes."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.scoring.clients import _emitted_from, _emitted_to
from services.scoring.domain import (
    DomainEvent,
    EmittedLog,
    ResolutionHow,
    RuptureResolved,
    RuptureSuspected,
    Severity,
)
from services.scoring.domain.announcements import alerts_from_history, is_history
from services.scoring.translate import RESOLUTION_HOW

SESSION_AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def alert(
    episode_id: str, severity: Severity, *, stale: bool = False, session_at: datetime = SESSION_AT
) -> RuptureSuspected:
    return RuptureSuspected(
        clinic_id="clinic-1",
        client_id="client-1",
        episode_id=episode_id,
        session_id="s01",
        session_at=session_at,
        therapist_id="t-7",
        severity=severity,
        previous_severity=Severity.NONE,
        markers=(),
        srs_total=None,
        baseline=None,
        stale=stale,
    )


def resolution(episode_id: str, how: ResolutionHow = ResolutionHow.SETTLED) -> RuptureResolved:
    return RuptureResolved(
        clinic_id="clinic-1",
        client_id="client-1",
        episode_id=episode_id,
        how=how,
        resolved_at=SESSION_AT,
        session_id="s03",
        sessions_to_repair=None,
        note=None,
        resolved_by=None,
    )


@pytest.mark.parametrize(
    ("age", "history"),
    [
        (timedelta(days=14), False),  # exactly the horizon is still news
        (timedelta(days=14, microseconds=1), True),
        (timedelta(days=13, hours=23), False),
        (timedelta(days=400), True),
        (timedelta(0), False),
        (-timedelta(days=1), False),  # a session in the future (clock skew) is news
    ],
)
def test_an_alert_is_history_only_past_the_horizon(age: timedelta, history: bool) -> None:
    assert is_history(SESSION_AT, SESSION_AT + age, 14) is history


def test_a_horizon_of_zero_days_makes_anything_older_than_now_history() -> None:
    assert is_history(SESSION_AT, SESSION_AT, 0) is False
    assert is_history(SESSION_AT, SESSION_AT + timedelta(seconds=1), 0) is True


def test_the_horizon_compares_instants_not_wall_clocks() -> None:
    kiritimati = timezone(timedelta(hours=14))  # the same instant reads 14 hours later on this clock
    announced = (SESSION_AT + timedelta(days=14)).astimezone(kiritimati)
    assert is_history(SESSION_AT, announced, 14) is False
    assert is_history(SESSION_AT, announced + timedelta(microseconds=1), 14) is True


def test_only_alerts_past_the_horizon_are_picked_resolutions_never() -> None:
    old = alert("e-old", Severity.MEDIUM)
    recent = alert("e-new", Severity.HIGH, session_at=SESSION_AT + timedelta(days=20))
    announced = SESSION_AT + timedelta(days=21)
    picked = alerts_from_history([old, recent, resolution("e-old")], announced, 14)
    assert picked == {old.event_id}


def test_the_log_marks_an_episode_whose_first_alert_was_history() -> None:
    first = alert("e-1", Severity.MEDIUM)
    log = EmittedLog().record([first], from_history={first.event_id})
    assert log.from_history == {"e-1"}
    rise = alert("e-1", Severity.HIGH)  # a later live alert does not unmark it
    assert log.record([rise]).from_history == {"e-1"}


def test_a_later_alert_from_history_does_not_mark_an_episode_first_announced_live() -> None:
    live = alert("e-1", Severity.MEDIUM)
    log = EmittedLog().record([live])
    stale = alert("e-1", Severity.MEDIUM, stale=True)
    assert log.record([stale], from_history={stale.event_id}).from_history == frozenset()


def test_within_one_batch_only_the_first_alert_of_an_episode_counts() -> None:
    medium, high = alert("e-1", Severity.MEDIUM), alert("e-1", Severity.HIGH)
    assert EmittedLog().record([medium, high], from_history={high.event_id}).from_history == frozenset()
    assert EmittedLog().record([medium, high], from_history={medium.event_id}).from_history == {"e-1"}


def test_the_emitted_log_survives_its_stored_form() -> None:
    medium = alert("e-1", Severity.MEDIUM)
    log = EmittedLog().record(
        [medium, alert("e-1", Severity.HIGH, stale=True), alert("e-2", Severity.HIGH), resolution("e-2")],
        from_history={medium.event_id},
    )
    stored = _emitted_to(log)
    assert stored["from_history"] == ["e-1"]
    assert _emitted_from(stored) == log


def test_a_log_stored_before_the_horizon_existed_reads_as_no_history() -> None:
    old = {"alerted": [["e-1", "medium"]], "stale_alerted": [], "resolved": ["e-1"]}
    log = _emitted_from(old)
    assert log.from_history == frozenset() and log.highest_alert("e-1") is Severity.MEDIUM


def test_every_way_an_episode_closes_has_its_own_word_on_the_wire() -> None:
    assert {how: RESOLUTION_HOW[how] for how in ResolutionHow} == {
        ResolutionHow.REPAIRED: "repaired",
        ResolutionHow.MANUAL: "manual",
        ResolutionHow.SETTLED: "settled",
    }


def test_a_log_read_back_alert_by_alert_equals_the_recorded_one() -> None:
    medium, high, stale = (
        alert("e-1", Severity.MEDIUM),
        alert("e-1", Severity.HIGH),
        alert("e-1", Severity.HIGH, stale=True),
    )
    live, other = alert("e-2", Severity.MEDIUM), alert("e-2", Severity.HIGH)
    events: list[DomainEvent] = [medium, live, high, other, stale, resolution("e-2")]
    history = {medium.event_id, high.event_id, other.event_id}
    recorded = EmittedLog().record(events, from_history=history)

    read_back = EmittedLog()
    for event in events:
        if isinstance(event, RuptureSuspected):
            read_back = read_back.with_alert(
                event.episode_id, event.severity, stale=event.stale, from_history=event.event_id in history
            )
        else:
            read_back = read_back.with_resolution(event.episode_id)

    assert read_back == recorded and recorded.from_history == {"e-1"}
