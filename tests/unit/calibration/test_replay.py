"""Replay feeds the domain in production order and counts what it announces."""

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from calibration.cli import main, thresholds_of
from calibration.figures import form_pairs
from calibration.population import Course, Parameters, PlannedClient, PlannedSession, PlantedRupture, generate
from calibration.replay import facts_of, replay_client, replay_population
from services.scoring.domain import (
    AttendanceRecorded,
    Fact,
    FeedbackRecorded,
    Instrument,
    Respondent,
    Severity,
    Thresholds,
)

FULL = (10.0, 10.0, 10.0, 10.0)
ORS = (5.0, 5.0, 5.0, 5.0)


def session(
    index: int,
    srs: tuple[float, ...] = FULL,
    *,
    attended: bool = True,
    psq: tuple[int, ...] | None = None,
) -> PlannedSession:
    if not attended:
        return PlannedSession(index, False, None, None, None, False)
    return PlannedSession(index, True, ORS, srs, FULL, srs != FULL, psq)


def planned(*sessions: PlannedSession, rupture: PlantedRupture | None = None) -> PlannedClient:
    return PlannedClient("clinic-1", "t-1", "c-1", 0, 40.0, rupture, sessions)


def test_a_sessions_facts_come_in_production_order() -> None:
    facts = facts_of(planned(session(0)), session(0))
    assert isinstance(facts[0], AttendanceRecorded)
    rated = [(f.instrument, f.respondent) for f in facts[1:] if isinstance(f, FeedbackRecorded)]
    assert rated == [
        (Instrument.ORS, Respondent.CLIENT),
        (Instrument.SRS, Respondent.CLIENT),
        (Instrument.SRS, Respondent.THERAPIST),
    ]
    assert [f.submitted_at for f in facts[1:] if isinstance(f, FeedbackRecorded)] == sorted(
        f.submitted_at for f in facts[1:] if isinstance(f, FeedbackRecorded)
    )
    assert len(facts_of(planned(session(0, attended=False)), session(0, attended=False))) == 1


def rated(facts: Sequence[Fact]) -> list[tuple[Instrument, Respondent]]:
    return [(f.instrument, f.respondent) for f in facts if isinstance(f, FeedbackRecorded)]


@pytest.mark.parametrize(
    ("psq", "items"),
    [
        ((1, 4, 2), {"tension": 1, "intensity": 4, "resolution": 2}),
        ((0,), {"tension": 0}),
    ],
)
def test_the_clients_psq_comes_a_minute_before_their_srs_as_the_form_sends_them(
    psq: tuple[int, ...], items: dict[str, int]
) -> None:
    facts = facts_of(planned(session(0)), session(0, psq=psq))
    assert rated(facts) == [
        (Instrument.ORS, Respondent.CLIENT),
        (Instrument.PSQ, Respondent.CLIENT),
        (Instrument.SRS, Respondent.CLIENT),
        (Instrument.SRS, Respondent.THERAPIST),
    ]
    feedback = [f for f in facts if isinstance(f, FeedbackRecorded)]
    report, srs = feedback[1], feedback[2]
    assert (srs.submitted_at - report.submitted_at).total_seconds() == 60
    assert {name: int(value) for name, value in report.scores.items} == items


def test_no_psq_fact_for_a_session_without_a_report() -> None:
    facts = facts_of(planned(session(0)), session(0))
    assert Instrument.PSQ not in {instrument for instrument, _ in rated(facts)}
    assert len(rated(facts)) == 3


@pytest.mark.parametrize(
    ("psq", "alerts"),
    [
        ((1, 5, 1), 1),  # bothered a lot, unresolved: a high report
        ((1, 3, 3), 1),  # partly resolved: a medium report
        ((1, 1, 5), 0),  # resolved within the session: low, no alert
        ((0,), 0),
    ],
)
def test_a_report_of_tension_alone_alerts_by_its_own_level(psq: tuple[int, ...], alerts: int) -> None:
    sessions = [session(i) for i in range(6)] + [session(6, psq=psq)]
    outcome = replay_client(planned(*sessions), Thresholds())
    assert outcome.sessions[6].alerts == alerts
    assert outcome.sessions[6].alert_facts == ("psq-client",) * alerts
    if alerts:
        assert "reported_rupture" in outcome.sessions[6].alert_reasons[0]


def test_a_drop_then_a_report_on_the_same_form_alerts_twice_within_a_minute() -> None:
    # 36 after a run of 40: a baseline drop (medium); the report adds a second family, so high.
    drop = (9.0, 9.0, 9.0, 9.0)
    sessions = [session(i) for i in range(6)] + [session(6, drop, psq=(1, 3, 3))]
    outcome = replay_client(planned(*sessions), Thresholds())
    assert outcome.sessions[6].alert_facts == ("psq-client", "srs-client")
    assert form_pairs([outcome]) == (1, 2)


def test_a_minor_report_sent_before_the_srs_leaves_no_announced_repair_to_undo() -> None:
    # The report's low marker is on the session before its SRS arrives: a session with a marker repairs nothing,
    # so no repair is announced, and the episode stays open as the full history says it is.
    drop = (9.0, 9.0, 9.0, 9.0)
    sessions = [session(i) for i in range(6)] + [session(6, drop), session(7, psq=(1, 1, 5))]
    outcome = replay_client(planned(*sessions), Thresholds())
    assert outcome.sessions[6].alerts == 1
    assert all(not s.undone_resolutions for s in outcome.sessions)
    assert outcome.sessions[7].open_severity is not Severity.NONE
    quiet = replay_client(planned(*sessions[:7], session(7, psq=(0,))), Thresholds())
    assert quiet.sessions[7].open_severity is Severity.NONE  # "no tension" and back at the usual: repaired


def test_a_client_at_the_top_of_the_scale_every_week_is_never_alerted() -> None:
    outcome = replay_client(planned(*(session(i) for i in range(12))), Thresholds())
    assert outcome.alerts == 0 and not outcome.planted
    assert len(outcome.sessions) == 12


def test_a_collapse_of_the_alliance_is_alerted_in_its_own_session() -> None:
    sessions = [session(i) for i in range(6)] + [session(6, (5.0, 5.0, 5.0, 5.0))]
    rupture = PlantedRupture(6, 1, Course.REPAIRED, False)
    outcome = replay_client(planned(*sessions, rupture=rupture), Thresholds())
    assert outcome.rupture_start == 6
    assert outcome.sessions[6].alerts >= 1
    assert outcome.sessions[6].alert_facts[0] == "srs-client"
    assert all(s.alerts == 0 for s in outcome.sessions[:6])


def test_the_population_feeds_a_psq_exactly_for_the_sessions_that_have_one() -> None:
    for client in generate(Parameters(clients=40), seed=8):
        for planned_session in client.sessions:
            fed = [
                f
                for f in facts_of(client, planned_session)
                if isinstance(f, FeedbackRecorded) and f.instrument is Instrument.PSQ
            ]
            answers = planned_session.client_psq
            assert len(fed) == (answers is not None)
            if answers is not None:
                assert fed[0].respondent is Respondent.CLIENT
                assert fed[0].scores.get("tension") == answers[0]


def test_workers_do_not_change_the_outcomes() -> None:
    population = generate(Parameters(clients=24), seed=3)
    assert replay_population(population, Thresholds(), workers=2) == replay_population(
        population, Thresholds(), workers=1
    )


def test_threshold_overrides_parse_numbers_and_whole_session_counts() -> None:
    thresholds = thresholds_of(["srs_cutoff=35", "stale_after_sessions=4"])
    assert thresholds.srs_cutoff == Decimal(35)
    assert thresholds.stale_after_sessions == 4
    with pytest.raises(SystemExit):
        thresholds_of(["no_such_setting=1"])


def test_the_command_writes_its_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--clients", "20", "--no-sweep", "--no-fail", "--workers", "1", "--out", str(tmp_path)])
    assert code == 0
    assert "planted ruptures alerted within 2 sessions" in capsys.readouterr().out
    assert "| figure | budget | measured | result |" in (tmp_path / "budget.md").read_text()
    assert (tmp_path / "budget.csv").read_text().count("\n") == 6
