"""The generator draws what its parameters say, the same for the same seed."""

import functools
import random
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from calibration.population import (
    Course,
    Parameters,
    PlannedClient,
    PlannedSession,
    generate,
    parameter_fields,
    planned_client,
    split_total,
)
from services.scoring.domain import Instrument, Thresholds, validate_scores

# Far from the 40 ceiling, so the cap does not trim the spread being checked.
UNCAPPED = Parameters(clients=1000, srs_mean=30.0)


@functools.cache
def sample() -> tuple[PlannedClient, ...]:
    """One population shared by the tests that only read it (generating it is the slow part)."""
    return generate(UNCAPPED, seed=7)


def totals(session_items: tuple[float, ...] | None) -> float:
    assert session_items is not None
    return round(sum(session_items), 1)


def test_client_means_follow_the_population_mean_and_between_client_sd() -> None:
    usual = [client.usual_srs for client in sample()]
    assert abs(statistics.mean(usual) - 30.0) < 0.2
    assert abs(statistics.stdev(usual) - UNCAPPED.srs_between_sd) < 0.15


def test_ratings_vary_around_the_clients_usual_with_the_within_client_sd() -> None:
    unplanted = [client for client in sample() if client.rupture is None]
    deviations = [
        totals(s.client_srs) - client.usual_srs for client in unplanted for s in client.sessions if s.attended
    ]
    assert abs(statistics.mean(deviations)) < 0.05
    # Rounding to tenths adds a little variance (0.1² / 12 per item): well inside the tolerance.
    assert abs(statistics.stdev(deviations) - UNCAPPED.srs_within_sd) < 0.08


def test_usual_totals_are_capped_at_forty() -> None:
    population = generate(Parameters(clients=500, srs_mean=39.5), seed=2)
    assert max(client.usual_srs for client in population) == 40.0
    assert all(totals(s.client_srs) <= 40.0 for c in population for s in c.sessions if s.client_srs)


def test_items_are_within_zero_to_ten_with_one_decimal() -> None:
    for client in generate(Parameters(clients=300), seed=3):
        for session in client.sessions:
            for items in (session.client_srs, session.therapist_srs, session.ors):
                if items is None:
                    continue
                assert len(items) == 4
                assert all(0.0 <= v <= 10.0 and round(v, 1) == v for v in items)


def test_split_total_keeps_the_rounded_total_even_at_the_edges() -> None:
    rng = random.Random(1)
    for total in (0.0, 0.04, 12.34, 37.46, 39.97, 40.0):
        assert round(sum(split_total(total, 0.5, rng)), 1) == round(total, 1)


def test_no_show_share_and_no_ratings_for_no_shows() -> None:
    sessions = [s for client in sample() for s in client.sessions]
    missed = [s for s in sessions if not s.attended]
    assert abs(len(missed) / len(sessions) - 0.06) < 0.01
    assert all(s.client_srs is None and s.therapist_srs is None and s.ors is None for s in missed)


def test_session_counts_stay_within_their_bounds() -> None:
    counts = {len(client.sessions) for client in sample()}
    assert min(counts) == 10 and max(counts) == 20


def test_a_sixth_of_clients_have_a_planted_drop_of_five_to_eight_points() -> None:
    population = generate(replace(UNCAPPED, clients=600, srs_within_sd=0.0001), seed=11)
    planted = [client for client in population if client.rupture is not None]
    assert abs(len(planted) / len(population) - 1 / 6) < 0.04
    for client in planted:
        rupture = client.rupture
        assert rupture is not None
        assert 1 <= rupture.sessions <= 3 and rupture.start >= 3
        drop = client.sessions[rupture.start : rupture.start + rupture.sessions]
        assert all(s.in_rupture and s.attended for s in drop)
        assert all(5.0 - 0.2 <= client.usual_srs - totals(s.client_srs) <= 8.0 + 0.2 for s in drop)
    courses = {client.rupture.course for client in planted if client.rupture is not None}
    assert courses == set(Course)
    reported = [c for c in planted if c.rupture is not None and c.rupture.psq_reported]
    assert 0.3 < len(reported) / len(planted) < 0.7


def drop_sessions(client: PlannedClient) -> list[PlannedSession]:
    rupture = client.rupture
    return [] if rupture is None else [s for s in client.sessions if s.in_rupture]


@pytest.mark.parametrize(
    ("changes", "intensities", "resolutions"),
    [
        ({}, range(2, 6), range(1, 5)),
        ({"psq_intensity_min": 4, "psq_intensity_max": 4}, range(4, 5), range(1, 5)),
        ({"psq_resolution_min": 5, "psq_resolution_max": 5}, range(2, 6), range(5, 6)),
        ({"psq_intensity_min": 1, "psq_resolution_max": 2}, range(1, 6), range(1, 3)),
    ],
)
def test_a_reported_rupture_carries_valid_answers_in_its_ranges(
    changes: dict[str, Any], intensities: range, resolutions: range
) -> None:
    population = generate(replace(Parameters(clients=400), **changes), seed=5)
    reported = [s for c in population if c.rupture and c.rupture.psq_reported for s in drop_sessions(c)]
    assert len(reported) > 50
    answers = [s.client_psq for s in reported]
    assert all(a is not None and len(a) == 3 and a[0] == 1 for a in answers)
    assert {a[1] for a in answers if a} == set(intensities)
    assert {a[2] for a in answers if a} == set(resolutions)
    for answer in answers:
        assert answer is not None
        validate_scores(
            Instrument.PSQ, dict(zip(("tension", "intensity", "resolution"), answer, strict=True))
        )


def test_a_rupture_the_client_does_not_report_has_no_tension_on_any_of_its_sessions() -> None:
    unreported = [s for c in sample() if c.rupture and not c.rupture.psq_reported for s in drop_sessions(c)]
    assert unreported
    assert all(s.client_psq in (None, (0,)) for s in unreported)


def test_minor_reports_outside_ruptures_are_rare_and_read_low() -> None:
    other = [s for c in sample() for s in c.sessions if s.attended and not s.in_rupture]
    minor = [s.client_psq for s in other if s.psq_tension]
    assert abs(len(minor) / len(other) - UNCAPPED.psq_minor_share) < 0.01
    defaults = Thresholds()
    for answer in minor:
        assert answer is not None
        tension, intensity, resolution = answer
        assert tension == 1 and 1 <= intensity <= 2 and 4 <= resolution <= 5
        # The domain reads a report as medium or high only at a resolution up to report_medium_resolution.
        assert resolution > defaults.report_medium_resolution


def test_without_a_report_most_clients_answer_no_tension_and_the_rest_skip_the_question() -> None:
    quiet = [s for c in sample() for s in c.sessions if s.attended and not s.psq_tension]
    said_no = [s for s in quiet if s.client_psq == (0,)]
    assert all(s.client_psq in (None, (0,)) for s in quiet)
    assert abs(len(said_no) / len(quiet) - UNCAPPED.psq_answer_share) < 0.02
    missed = [s for c in sample() for s in c.sessions if not s.attended]
    assert missed and all(s.client_psq is None for s in missed)


@pytest.mark.parametrize(
    "changes",
    [
        {"psq_report_share": 0.0},
        {"psq_report_share": 1.0, "psq_intensity_min": 5, "psq_resolution_max": 1},
        {"psq_minor_share": 0.5, "psq_minor_intensity_max": 5, "psq_minor_resolution_min": 1},
        {"psq_answer_share": 0.0},
    ],
)
def test_the_psq_parameters_move_no_other_draw_of_any_client(changes: dict[str, Any]) -> None:
    base = generate(Parameters(clients=120), seed=6)
    changed = generate(replace(Parameters(clients=120), **changes), seed=6)
    assert [c.client_psq for a in base for c in a.sessions] != [
        c.client_psq for a in changed for c in a.sessions
    ]
    for a, b in zip(base, changed, strict=True):
        assert replace(a, rupture=None, sessions=()) == replace(b, rupture=None, sessions=())
        if a.rupture is not None and b.rupture is not None:
            assert replace(a.rupture, psq_reported=False) == replace(b.rupture, psq_reported=False)
        assert (a.rupture is None) == (b.rupture is None)
        assert [replace(s, client_psq=None) for s in a.sessions] == [
            replace(s, client_psq=None) for s in b.sessions
        ]


def test_a_fifth_of_clients_do_not_improve_on_the_ors() -> None:
    population = generate(replace(Parameters(clients=600), ors_noise_sd=0.0, ors_gain_sd=0.0), seed=9)
    flat = [c for c in population if len({totals(s.ors) for s in c.sessions if s.ors}) == 1]
    assert abs(len(flat) / len(population) - 0.2) < 0.04


def test_the_same_seed_gives_the_same_population_and_another_seed_another() -> None:
    parameters = Parameters(clients=50)
    assert generate(parameters, seed=4) == generate(parameters, seed=4)
    assert generate(parameters, seed=4) != generate(parameters, seed=5)


def test_a_client_is_the_same_whatever_the_size_of_the_population() -> None:
    assert generate(Parameters(clients=80), seed=4)[42] == planned_client(Parameters(clients=3), 4, 42)


def test_every_parameter_is_documented_with_its_default() -> None:
    readme = (Path(__file__).parents[3] / "docs" / "calibration" / "README.md").read_text()
    for name, default, _, _ in parameter_fields():
        assert f"| `--{name.replace('_', '-')}` | {default:.4g}" in readme, name


def test_neighbouring_sweep_cells_differ_only_in_the_ratings() -> None:
    lower = generate(Parameters(clients=60, srs_mean=36.5, srs_within_sd=0.8), seed=2)
    higher = generate(Parameters(clients=60, srs_mean=38.5, srs_within_sd=1.6), seed=2)
    for a, b in zip(lower, higher, strict=True):
        assert (a.rupture, a.start_week, a.therapist_id) == (b.rupture, b.start_week, b.therapist_id)
        assert [(s.attended, s.ors, s.client_psq) for s in a.sessions] == [
            (s.attended, s.ors, s.client_psq) for s in b.sessions
        ]
    assert [a.usual_srs for a in lower] != [b.usual_srs for b in higher]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"min_sessions": 12, "max_sessions": 11}, "min_sessions must not exceed max_sessions"),
        ({"no_show_share": 1.5}, "no_show_share must be between 0 and 1"),
        ({"psq_minor_share": -0.1}, "psq_minor_share must be between 0 and 1"),
        ({"psq_answer_share": 1.1}, "psq_answer_share must be between 0 and 1"),
        ({"psq_intensity_min": 0}, "psq_intensity_min must be between 1 and 5"),
        ({"psq_minor_resolution_min": 6}, "psq_minor_resolution_min must be between 1 and 5"),
        ({"psq_resolution_min": 4, "psq_resolution_max": 3}, "each min must not exceed its max"),
    ],
)
def test_impossible_parameters_are_refused(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Parameters(**changes)
