"""The worked V-episode: alliance high (38, 38), low (29, a steep drop), high again (37.5): opened, then repaired."""

from decimal import Decimal

from services.scoring.domain import (
    AllianceDimension,
    ClientHistory,
    DomainEvent,
    EmittedLog,
    Fact,
    Marker,
    MarkerCode,
    ResolutionHow,
    RuptureResolved,
    RuptureSuspected,
    Severity,
    assess_client,
    rupture_episode_id,
)

from .builders import CLIENT, CLINIC, TABLE, THERAPIST, session_at, srs

FACTS = {
    "s01": srs(1, "9.5/9.5/9.5/9.5"),  # 38.0
    "s02": srs(2, "9.5/9.5/9.5/9.5"),  # 38.0
    "s03": srs(3, "7.5/7/7.5/7"),  # 29.0
    "s04": srs(4, "9.5/9.3/9.4/9.3"),  # 37.5
}
EPISODE_ID = rupture_episode_id(CLINIC, CLIENT, "fb-3-srs-client")
D = Decimal

SUSPECTED = RuptureSuspected(
    clinic_id=CLINIC,
    client_id=CLIENT,
    episode_id=EPISODE_ID,
    session_id="s03",
    session_at=session_at(3),
    therapist_id=THERAPIST,
    severity=Severity.HIGH,
    previous_severity=Severity.NONE,
    markers=(
        Marker(MarkerCode.BELOW_CUTOFF, D("29.0"), D("36")),
        Marker(MarkerCode.ITEM_LOW, D("7.5"), D("8.0"), AllianceDimension.BOND),
        Marker(MarkerCode.ITEM_LOW, D("7.0"), D("8.0"), AllianceDimension.GOAL),
        Marker(MarkerCode.ITEM_LOW, D("7.5"), D("8.0"), AllianceDimension.TASK),
        Marker(MarkerCode.ITEM_LOW, D("7.0"), D("8.0"), AllianceDimension.GENERAL),
        Marker(MarkerCode.DROP_FROM_LAST, D("29.0"), D("37.0")),  # 38 - 1.0
        Marker(MarkerCode.DROP_FROM_BASELINE, D("29.0"), D("36.00")),  # mean 38, sd 0 -> 38 - max(2.0, 0)
        Marker(MarkerCode.STEEP_DROP, D("29.0"), D("33.0")),  # 38 - 5.0
    ),
    srs_total=D("29.0"),
    baseline=D("38.00"),
    stale=False,
)
RESOLVED = RuptureResolved(
    clinic_id=CLINIC,
    client_id=CLIENT,
    episode_id=EPISODE_ID,
    how=ResolutionHow.REPAIRED,
    resolved_at=session_at(4),
    session_id="s04",
    sessions_to_repair=1,  # s04 is the first session after the opening one
    note=None,
    resolved_by=None,
)


def _feed(order: list[str]) -> list[tuple[DomainEvent, ...]]:
    """Process the facts one by one, as the consumer would, publishing what is owed after each."""
    history, log, published = ClientHistory.of(CLINIC, CLIENT), EmittedLog(), []
    for session in order:
        fact: Fact = FACTS[session]
        history = history.with_fact(fact)
        owed = assess_client(history, TABLE).owed_events(log)
        log = log.record(owed)
        published.append(owed)
    return published


def test_v_episode_in_order() -> None:
    assert _feed(["s01", "s02", "s03", "s04"]) == [(), (), (SUSPECTED,), (RESOLVED,)]


def test_v_episode_when_the_dip_arrives_last() -> None:
    # The low session's feedback arrives after the repairing one: both are owed at once, in timeline order.
    assert _feed(["s01", "s02", "s04", "s03"]) == [(), (), (), (SUSPECTED, RESOLVED)]


def test_v_episode_redelivery_publishes_nothing_more() -> None:
    history = ClientHistory.of(CLINIC, CLIENT, FACTS.values())
    log = EmittedLog().record([SUSPECTED, RESOLVED])
    assert assess_client(history.with_fact(FACTS["s03"]), TABLE).owed_events(log) == ()


def test_v_episode_summary_and_event_ids() -> None:
    assessment = assess_client(ClientHistory.of(CLINIC, CLIENT, FACTS.values()), TABLE)
    episode = assessment.timeline.episodes[0]
    assert (episode.severity, episode.pre_episode_mean, episode.resolution) == (
        Severity.HIGH,
        D("38.00"),
        RESOLVED,
    )
    assert assessment.summary.repaired_count == 1 and assessment.summary.open_episode is None
    assert SUSPECTED.event_id != RESOLVED.event_id
    assert SUSPECTED.event_id == assessment.timeline.events[0].event_id
