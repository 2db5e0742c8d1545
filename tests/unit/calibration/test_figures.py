"""The five figures computed on tiny hand-made outcomes, whatever the rules would have concluded."""

import pytest

from calibration.figures import (
    FIGURES,
    alert_reasons,
    alerts_per_session,
    basis,
    detected_share,
    form_pairs,
    measure,
    open_medium_share,
    table,
    undone_resolutions,
)
from calibration.replay import ClientOutcome, SessionOutcome
from calibration.report import same_session_text
from services.scoring.domain import Severity

QUIET = SessionOutcome(alerts=0, open_severity=Severity.NONE, joined_high_alerted=False)
ALERT = SessionOutcome(alerts=1, open_severity=Severity.MEDIUM, joined_high_alerted=False)
OPEN_LOW = SessionOutcome(alerts=0, open_severity=Severity.LOW, joined_high_alerted=False)
OPEN_HIGH = SessionOutcome(alerts=0, open_severity=Severity.HIGH, joined_high_alerted=False)
JOINED_HIGH = SessionOutcome(alerts=0, open_severity=Severity.HIGH, joined_high_alerted=True)


def client(*sessions: SessionOutcome, start: int | None = None) -> ClientOutcome:
    return ClientOutcome(planted=start is not None, rupture_start=start, sessions=sessions)


def test_one_planted_drop_alerted_at_its_start_is_detected_at_once() -> None:
    outcomes = [client(QUIET, QUIET, QUIET, ALERT, QUIET, start=3)]
    assert detected_share(outcomes, 1) == 1.0
    assert detected_share(outcomes, 2) == 1.0


def test_an_alert_one_session_late_counts_only_within_two_sessions() -> None:
    outcomes = [client(QUIET, QUIET, QUIET, QUIET, ALERT, start=3)]
    assert detected_share(outcomes, 1) == 0.0
    assert detected_share(outcomes, 2) == 1.0


def test_an_alert_before_the_drop_does_not_count_for_it() -> None:
    outcomes = [client(QUIET, QUIET, ALERT, QUIET, QUIET, QUIET, ALERT, start=3)]
    assert detected_share(outcomes, 2) == 0.0


def test_joining_an_episode_already_alerted_at_high_counts_as_alerted() -> None:
    outcomes = [client(QUIET, ALERT, OPEN_HIGH, JOINED_HIGH, QUIET, start=3)]
    assert detected_share(outcomes, 1) == 1.0


def test_detection_is_a_share_of_planted_clients_only() -> None:
    outcomes = [
        client(QUIET, QUIET, QUIET, ALERT, start=3),
        client(QUIET, QUIET, QUIET, QUIET, start=3),
        client(ALERT, ALERT, ALERT, ALERT),  # no planted rupture: not in the denominator
    ]
    assert detected_share(outcomes, 1) == 0.5


def test_alerts_per_client_session_count_every_scheduled_session() -> None:
    outcomes = [client(ALERT, QUIET, QUIET, QUIET), client(QUIET, QUIET, QUIET, ALERT, start=3)]
    assert alerts_per_session(outcomes, lambda o: not o.planted) == 0.25
    assert alerts_per_session(outcomes, lambda o: True) == 0.25
    two_alerts = SessionOutcome(2, Severity.HIGH, False)
    assert alerts_per_session([client(two_alerts, QUIET, QUIET, QUIET, QUIET)], lambda o: True) == 0.4


def test_open_share_averages_over_session_indices_of_active_clients() -> None:
    # Index 0: 1 of 2 open at medium or above; index 1: 0 of 2 (low does not count); index 2: 1 of 1.
    outcomes = [client(ALERT, OPEN_LOW, OPEN_HIGH), client(QUIET, QUIET)]
    assert open_medium_share(outcomes) == pytest.approx((0.5 + 0.0 + 1.0) / 3)


def test_measure_gives_every_figure_of_the_table() -> None:
    values = measure([client(QUIET, QUIET, QUIET, ALERT, start=3)])
    assert [row.figure.key for row in table(values)] == [figure.key for figure in FIGURES]
    assert values["detected_at_start"] == 1.0
    assert values["alerts_unplanted"] == 0.0


def test_budgets_are_those_of_the_domain() -> None:
    budgets = {figure.key: (figure.bound.value, figure.budget) for figure in FIGURES}
    assert budgets == {
        "alerts_unplanted": ("≤", 0.03),
        "alerts_all": ("≤", 0.06),
        "open_medium": ("≤", 0.12),
        "detected_at_start": ("≥", 0.90),
        "detected_within_2": ("≥", 0.97),
    }


def test_a_figure_passes_on_its_budgets_side_only() -> None:
    at_most, at_least = FIGURES[0], FIGURES[3]
    assert at_most.passes(0.03) and not at_most.passes(0.0301)
    assert at_least.passes(0.90) and not at_least.passes(0.8999)


def test_alert_reasons_count_each_code_once_per_alert() -> None:
    first = SessionOutcome(
        2, Severity.HIGH, False, (frozenset({"below_cutoff", "drop_from_last"}), frozenset({"stale"}))
    )
    second = SessionOutcome(1, Severity.MEDIUM, False, (frozenset({"below_cutoff"}),))
    reasons = alert_reasons([client(first, QUIET, second)])
    code, count, share = reasons[0]
    assert (code, count) == ("below_cutoff", 2) and share == pytest.approx(2 / 3)
    assert {code for code, _, _ in reasons} == {"below_cutoff", "drop_from_last", "stale"}


def test_basis_counts_clients_sessions_and_ruptures() -> None:
    outcomes = [client(QUIET, QUIET, ALERT, start=1), client(QUIET, QUIET)]
    assert (
        basis(outcomes)
        == "2 clients, 5 client-sessions (2 of clients without a planted rupture), 1 planted ruptures"
    )


def test_same_session_artefacts_are_counted_per_session_and_per_fact() -> None:
    pair = SessionOutcome(2, Severity.HIGH, False, (frozenset(), frozenset()), ("srs-client", "psq-client"))
    srs_then_therapist = SessionOutcome(
        2, Severity.HIGH, False, (frozenset(), frozenset()), ("srs-client", "srs-therapist")
    )
    undone = SessionOutcome(0, Severity.MEDIUM, False, undone_resolutions=("psq-client",))
    outcomes = [client(QUIET, pair, undone), client(srs_then_therapist, undone, ALERT)]
    assert form_pairs(outcomes) == (1, 5)
    assert undone_resolutions(outcomes) == {"psq-client": 2}
    text = same_session_text(*form_pairs(outcomes), undone_resolutions(outcomes))
    assert "each sent a push alert: 1, against 5" in text
    assert ": 2 (2 by the client's psq)" in text
