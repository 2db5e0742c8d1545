"""A long history, or a rating resent many times, judged one fact at a time (each step going on from the last
assessment's walk and sessions) gives at every step what judging the whole history from scratch gives: the same
sessions (down to the offset their time is written with), markers, episodes, summary and owed events."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain import (
    Attendance,
    AttendanceRecorded,
    ClientAssessment,
    ClientHistory,
    ClinicianActions,
    EmittedLog,
    Fact,
    FeedbackRecorded,
    Instrument,
    ManualResolution,
    Respondent,
    Scores,
    Thresholds,
    assess_client,
    validate_scores,
)
from services.scoring.domain.episodes import KEPT_POINTS

from .builders import CLIENT, CLINIC, T0, THERAPIST, even_items, srs
from .test_incremental import _same
from .test_properties import thresholds_strategy

TWO_HOURS_EAST = timezone(timedelta(hours=2))


def _scores(instrument: Instrument, tenths: int) -> Scores:
    """A total of ``tenths`` tenths, spread evenly over the items."""
    return validate_scores(instrument.value, even_items(Decimal(tenths) / 10, instrument))


@st.composite
def long_history(draw: st.DrawFn) -> list[Fact]:
    """More sessions than the walk keeps points for, weekly; each has a client SRS resent up to 4 times (ties in
    time go to the event id), sometimes a therapist SRS, an ORS, an attendance record, and feedback whose time
    is the same moment written with another offset. In an order close to the sessions' own, with a few late."""
    facts: list[Fact] = []
    for n in range(1, draw(st.integers(KEPT_POINTS + 2, 3 * KEPT_POINTS + 4)) + 1):
        at = T0 + timedelta(weeks=n - 1)
        written = at.astimezone(TWO_HOURS_EAST) if draw(st.booleans()) else at
        total = draw(st.sampled_from([380, 375, 370, 350, 300, 290]))
        for sent in range(draw(st.integers(1, 4))):
            facts.append(
                FeedbackRecorded(
                    f"srs-{n}-{sent}",
                    CLINIC,
                    CLIENT,
                    f"s{n}",
                    THERAPIST,
                    written if sent % 2 else at,
                    Respondent.CLIENT,
                    _scores(Instrument.SRS, total - 10 * draw(st.integers(0, 1))),
                    at + timedelta(hours=1, minutes=draw(st.integers(0, 2))),
                )
            )
        if draw(st.booleans()):
            therapist = _scores(Instrument.SRS, draw(st.sampled_from([390, 360])))
            facts.append(
                FeedbackRecorded(
                    f"tsrs-{n}", CLINIC, CLIENT, f"s{n}", THERAPIST, at, Respondent.THERAPIST, therapist, at
                )
            )
        if draw(st.booleans()):
            ors = _scores(Instrument.ORS, draw(st.sampled_from([300, 250, 200])))
            facts.append(
                FeedbackRecorded(
                    f"ors-{n}", CLINIC, CLIENT, f"s{n}", THERAPIST, at, Respondent.CLIENT, ors, at
                )
            )
        if draw(st.booleans()):
            attendance = draw(st.sampled_from([Attendance.ATTENDED, Attendance.ATTENDED, Attendance.NO_SHOW]))
            facts.append(
                AttendanceRecorded(f"att-{n}", CLINIC, CLIENT, f"s{n}", THERAPIST, at, attendance, at)
            )
    for _ in range(draw(st.integers(0, 3))):  # a few arrive late
        late = facts.pop(draw(st.integers(0, len(facts) - 1)))
        facts.append(late)
    return facts


def _same_everywhere(incremental: ClientAssessment, scratch: ClientAssessment) -> None:
    _same(incremental, scratch)
    # Equal datetimes may be written with other offsets, which the wire events show.
    shown = [(s.occurred_at.isoformat(), s.therapist_id) for s in incremental.history.sessions]
    assert shown == [(s.occurred_at.isoformat(), s.therapist_id) for s in scratch.history.sessions]
    for ours, theirs in zip(incremental.history.sessions, scratch.history.sessions, strict=True):
        assert ours.latest == theirs.latest


def _step_by_step(
    facts: list[Fact], thresholds: Thresholds, actions_at: dict[int, ClinicianActions] | None = None
) -> None:
    history, previous, log, scratch_log = ClientHistory.of(CLINIC, CLIENT), None, EmittedLog(), EmittedLog()
    history.sessions  # noqa: B018  # derived, so that with_fact carries the sessions over
    actions = ClinicianActions()
    for step, fact in enumerate(facts):
        actions = (actions_at or {}).get(step, actions)
        history = history.with_fact(fact)
        previous = assess_client(history, thresholds, actions, previous=previous)
        scratch = assess_client(ClientHistory.of(CLINIC, CLIENT, history.facts), thresholds, actions)
        _same_everywhere(previous, scratch)
        owed = previous.owed_events(log)
        assert owed == scratch.owed_events(scratch_log)
        log, scratch_log = log.record(owed), scratch_log.record(owed)


@settings(max_examples=150, deadline=None)
@given(facts=long_history(), thresholds=thresholds_strategy)
def test_a_long_history_judged_fact_by_fact_is_judged_as_a_whole(
    facts: list[Fact], thresholds: Thresholds
) -> None:
    _step_by_step(facts, thresholds)


@settings(max_examples=60, deadline=None)
@given(facts=long_history(), data=st.data())
def test_a_manual_resolution_midway_is_judged_as_a_whole(facts: list[Fact], data: st.DataObject) -> None:
    """A clinician's resolution changes what is inside an episode: the walk is not gone on from then."""
    when = data.draw(st.integers(0, len(facts) - 1))
    episode_id = assess_client(ClientHistory.of(CLINIC, CLIENT, facts[: when + 1])).timeline.episodes
    if not episode_id:
        return
    resolution = ManualResolution(
        episode_id[0].episode_id,
        "sup-1",
        T0 + timedelta(weeks=data.draw(st.integers(0, 20)), days=3),
        "talked it through",
    )
    _step_by_step(facts, Thresholds(), {when: ClinicianActions(frozenset({resolution}))})


def test_a_rating_resent_a_thousand_times_counts_once_and_changes_no_outcome() -> None:
    """As a client system resending without an Idempotency-Key sends it: the same session, a new event id and
    a later submission time each time. The latest wins, the session keeps every fact for provenance, and the
    client is judged exactly as with the rating sent once."""
    history = ClientHistory.of(CLINIC, CLIENT, [srs(n, "38") for n in range(1, 7)])
    history.sessions  # noqa: B018
    history = history.with_fact(srs(7, "30"))
    once = previous = assess_client(history)
    for sent in range(1000):
        resent_at = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=sent)
        history = history.with_fact(srs(7, "30", event_id=f"resent-{sent}", submitted_at=resent_at))
        previous = assess_client(history, previous=previous)
    session = history.sessions[-1]
    assert len(session.facts) == 1001
    assert once.timeline.episodes
    assert session.feedback == (session.facts[-1],)  # the latest sent counts
    # A corrected rating keeps the episode's id: the first one recorded opened it.
    assert [e.episode_id for e in previous.timeline.episodes] == [
        e.episode_id for e in once.timeline.episodes
    ]
    assert [e.event_id for e in previous.timeline.events] == [e.event_id for e in once.timeline.events]
    assert previous.sessions[-1].markers == once.sessions[-1].markers
    assert previous.summary == once.summary
    _same_everywhere(previous, assess_client(ClientHistory.of(CLINIC, CLIENT, history.facts)))
