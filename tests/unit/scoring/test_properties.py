"""Properties that must hold for any facts: order-independence, idempotence, and no duplicate announcement."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain import (
    INSTRUMENTS,
    Attendance,
    AttendanceRecorded,
    ClientHistory,
    DomainEvent,
    EmittedLog,
    Fact,
    FeedbackRecorded,
    Instrument,
    Respondent,
    RuptureResolved,
    RuptureSuspected,
    Scores,
    Severity,
    Thresholds,
    assess_client,
)

from .builders import CLIENT, CLINIC, T0, THERAPIST

SLOTS = {
    "srs": (Instrument.SRS, Respondent.CLIENT),
    "tsrs": (Instrument.SRS, Respondent.THERAPIST),
    "ors": (Instrument.ORS, Respondent.CLIENT),
    "wai": (Instrument.WAI_SR, Respondent.CLIENT),
}


def _scores(draw: st.DrawFn, instrument: Instrument) -> Scores:
    spec = INSTRUMENTS[instrument]
    if instrument is Instrument.WAI_SR:
        values = [Decimal(draw(st.integers(1, 5))) for _ in spec.items]
    else:  # good, middling or poor sessions, so that every rule, repair included, gets exercised
        low, high = draw(st.sampled_from([(85, 100), (85, 100), (70, 95), (30, 85)]))
        values = [Decimal(draw(st.integers(low, high))) / 10 for _ in spec.items]
    return Scores(instrument, tuple(zip(spec.items, values, strict=True)))


@st.composite
def client_facts(draw: st.DrawFn) -> list[Fact]:
    """Up to 8 sessions (times may tie), each with attendance and/or feedback, some in several versions."""
    facts: list[Fact] = []
    for n in range(1, draw(st.integers(1, 8)) + 1):
        session_time = T0 + timedelta(days=draw(st.integers(0, 12)))
        for version, slot in enumerate(
            draw(st.lists(st.sampled_from(["attendance", *SLOTS]), min_size=1, max_size=5))
        ):
            event_id = f"e-{n}-{version}"
            recorded = session_time + timedelta(hours=draw(st.integers(0, 3)))  # ties go to the event id
            if slot == "attendance":
                facts.append(
                    AttendanceRecorded(
                        event_id,
                        CLINIC,
                        CLIENT,
                        f"s{n}",
                        THERAPIST,
                        session_time,
                        draw(st.sampled_from(Attendance)),
                        recorded,
                    )
                )
            else:
                instrument, respondent = SLOTS[slot]
                facts.append(
                    FeedbackRecorded(
                        event_id,
                        CLINIC,
                        CLIENT,
                        f"s{n}",
                        THERAPIST,
                        session_time,
                        respondent,
                        _scores(draw, instrument),
                        recorded,
                    )
                )
    return facts


thresholds_strategy = st.builds(
    Thresholds,
    alert_threshold=st.sampled_from([Severity.LOW, Severity.MEDIUM, Severity.HIGH]),
    stale_after_sessions=st.integers(1, 4),
)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), facts=client_facts(), thresholds=thresholds_strategy)
def test_any_arrival_order_gives_the_same_history_markers_and_episodes(
    data: st.DataObject, facts: list[Fact], thresholds: Thresholds
) -> None:
    in_order = ClientHistory.of(CLINIC, CLIENT, facts)
    shuffled = ClientHistory.of(CLINIC, CLIENT, data.draw(st.permutations(facts)))
    assert shuffled == in_order
    assert shuffled.sessions == in_order.sessions
    a, b = assess_client(in_order, thresholds), assess_client(shuffled, thresholds)
    assert (a.sessions, a.timeline, a.summary) == (b.sessions, b.timeline, b.summary)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), facts=client_facts())
def test_applying_any_fact_again_changes_nothing(data: st.DataObject, facts: list[Fact]) -> None:
    repeats = data.draw(st.lists(st.sampled_from(facts), min_size=1))
    with_repeats = ClientHistory.of(CLINIC, CLIENT, data.draw(st.permutations(facts + repeats)))
    once = ClientHistory.of(CLINIC, CLIENT, facts)
    assert with_repeats == once
    assert assess_client(with_repeats).timeline == assess_client(once).timeline


@settings(max_examples=200, deadline=None)
@given(data=st.data(), facts=client_facts(), thresholds=thresholds_strategy)
def test_incremental_processing_never_announces_twice(
    data: st.DataObject, facts: list[Fact], thresholds: Thresholds
) -> None:
    history, log, published = ClientHistory.of(CLINIC, CLIENT), EmittedLog(), list[DomainEvent]()
    for fact in data.draw(st.permutations(facts + facts[:2])):  # with a couple of redeliveries
        history = history.with_fact(fact)
        owed = assess_client(history, thresholds).owed_events(log)
        log = log.record(owed)
        published.extend(owed)
    ids = [event.event_id for event in published]
    assert len(ids) == len(set(ids))  # never two for one episode + level, one stale alert, one resolution
    levels: dict[str, list[Severity]] = defaultdict(list)
    for event in published:
        if isinstance(event, RuptureSuspected) and not event.stale:
            levels[event.episode_id].append(event.severity)
    assert all(sorted(set(found)) == found for found in levels.values())  # strictly rising


@settings(max_examples=200, deadline=None)
@given(facts=client_facts(), thresholds=thresholds_strategy)
def test_episode_invariants(facts: list[Fact], thresholds: Thresholds) -> None:
    assessment = assess_client(ClientHistory.of(CLINIC, CLIENT, facts), thresholds)
    timeline = assessment.timeline
    severity_of_session = {m.session_id: m.severity for m in assessment.sessions}
    assert all(not e.is_open for e in timeline.episodes[:-1])
    for episode in timeline.episodes:
        assert all(episode.severity >= severity_of_session[s] for s in episode.session_ids)
        assert episode.severity is Severity.HIGH or not episode.stale
        alerts = [
            e
            for e in timeline.events
            if isinstance(e, RuptureSuspected) and e.episode_id == episode.episode_id
        ]
        assert all(a.severity >= thresholds.alert_threshold or a.stale for a in alerts)
        assert all(a.previous_severity < a.severity or a.stale for a in alerts)
        if (
            isinstance(episode.resolution, RuptureResolved)
            and episode.resolution.sessions_to_repair is not None
        ):
            assert 1 <= episode.resolution.sessions_to_repair <= episode.sessions_since_opening
