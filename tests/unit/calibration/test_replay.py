"""Replay feeds the domain in production order and counts what it announces."""

from decimal import Decimal
from pathlib import Path

import pytest

from calibration.cli import main, thresholds_of
from calibration.population import Course, Parameters, PlannedClient, PlannedSession, PlantedRupture, generate
from calibration.replay import facts_of, replay_client, replay_population
from services.scoring.domain import AttendanceRecorded, FeedbackRecorded, Instrument, Respondent, Thresholds

FULL = (10.0, 10.0, 10.0, 10.0)
ORS = (5.0, 5.0, 5.0, 5.0)


def session(index: int, srs: tuple[float, ...] = FULL, *, attended: bool = True) -> PlannedSession:
    if not attended:
        return PlannedSession(index, False, None, None, None, False, False)
    return PlannedSession(index, True, ORS, srs, FULL, srs != FULL, False)


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
    assert all(s.alerts == 0 for s in outcome.sessions[:6])


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
