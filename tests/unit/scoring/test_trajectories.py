"""Expected trajectories (DOMAIN.md version 2): the fit recovers the curves a synthetic clinic was drawn from, a
band needs 30 clients, the platform-wide fit stands in, and the check reads the client's latest ORS."""

import math
import random
import statistics

import pytest

from services.scoring.domain.trajectories import (
    MIN_CLIENTS,
    BandFit,
    Chosen,
    IntakeBand,
    curve_for,
    fit,
    off_track,
)

# The curves the synthetic clinic follows: intake per band, and the gain b of change = b · ln(t).
CURVES = {
    IntakeBand.BELOW_10: (7.0, 6.0),
    IntakeBand.FROM_10: (12.0, 5.0),
    IntakeBand.FROM_15: (17.0, 4.0),
    IntakeBand.FROM_20: (22.0, 2.5),
    IntakeBand.FROM_25: (29.0, 1.0),
}
NOISE_SD = 2.0  # around the curve, per session: its 25th percentile is -0.674 SD = -1.35 points


def synthetic_clients(band: IntakeBand, count: int, sessions: int, seed: int) -> list[list[float]]:
    rng = random.Random(f"{band.value}:{seed}")
    intake, b = CURVES[band]
    return [
        [intake] + [intake + b * math.log(t) + rng.gauss(0, NOISE_SD) for t in range(2, sessions + 1)]
        for _ in range(count)
    ]


@pytest.mark.parametrize("band", list(IntakeBand))
def test_the_fit_recovers_each_bands_curve_and_its_lower_quartile(band: IntakeBand) -> None:
    clients = [c for b in IntakeBand for c in synthetic_clients(b, 60, 12, seed=1)]
    found = fit(clients)[band]
    _, b = CURVES[band]
    assert found.b == pytest.approx(b, rel=0.05)
    expected_lower = statistics.NormalDist(0, NOISE_SD).inv_cdf(0.25)
    assert abs(found.lower_offset - expected_lower) <= 0.5
    assert (found.clients, found.observations) == (60, 60 * 11)


def test_intake_bands_follow_the_first_ors_total() -> None:
    assert [IntakeBand.of(x) for x in (0, 9.9, 10, 14.9, 15, 19.9, 20, 24.9, 25, 40)] == [
        IntakeBand.BELOW_10,
        IntakeBand.BELOW_10,
        IntakeBand.FROM_10,
        IntakeBand.FROM_10,
        IntakeBand.FROM_15,
        IntakeBand.FROM_15,
        IntakeBand.FROM_20,
        IntakeBand.FROM_20,
        IntakeBand.FROM_25,
        IntakeBand.FROM_25,
    ]


def test_a_band_needs_30_clients_with_at_least_4_ors() -> None:
    band = IntakeBand.FROM_15
    assert MIN_CLIENTS == 30
    assert band not in fit(synthetic_clients(band, 29, 8, seed=2))
    assert band in fit(synthetic_clients(band, 30, 8, seed=2))
    # Clients with 3 ORS do not count towards the 30, nor enter the fit.
    short = synthetic_clients(band, 29, 8, seed=2) + synthetic_clients(band, 5, 3, seed=3)
    assert band not in fit(short)


def test_sessions_after_the_twentieth_ors_stay_out_of_the_fit() -> None:
    found = fit(synthetic_clients(IntakeBand.FROM_10, 30, 25, seed=4))[IntakeBand.FROM_10]
    assert found.observations == 30 * 19


def test_the_platform_wide_curve_stands_in_for_a_band_the_clinic_cannot_fit() -> None:
    clinic = fit(synthetic_clients(IntakeBand.FROM_15, 40, 8, seed=5))
    platform = fit([c for b in IntakeBand for c in synthetic_clients(b, 40, 8, seed=6)])
    own = curve_for(16.0, clinic, platform)
    assert own is not None and own.scope == "clinic" and own.fit is clinic[IntakeBand.FROM_15]
    other = curve_for(22.0, clinic, platform)
    assert other is not None and other.scope == "platform" and other.fit is platform[IntakeBand.FROM_20]
    assert curve_for(22.0, clinic, {}) is None


CURVE = Chosen(BandFit(IntakeBand.FROM_15, b=4.0, lower_offset=-1.5, clients=30, observations=200), "clinic")


@pytest.mark.parametrize(
    ("totals", "expected_t"),
    [
        pytest.param([16.0, 16.0], None, id="t-2-is-not-checked"),
        pytest.param([16.0, 17.0, 16.0], 3, id="flat-at-t-3-is-below-the-limit"),
        pytest.param([16.0, 18.0, 16.0 + 4.0 * math.log(3) - 1.4], None, id="just-above-the-limit"),
        pytest.param([16.0, 18.0, 16.0 + 4.0 * math.log(3) - 1.6], 3, id="just-below-the-limit"),
        pytest.param([16.0] * 21, None, id="beyond-t-20-the-curve-says-nothing"),
    ],
)
def test_not_on_track_reads_the_latest_ors_against_the_lower_limit(
    totals: list[float], expected_t: int | None
) -> None:
    found = off_track(totals, CURVE)
    assert (found.t if found else None) == expected_t
    if found is not None:
        # Shown, and judged, to two decimals: an alert never shows a change equal to its limit.
        assert found.expected == round(4.0 * math.log(found.t), 2)
        assert found.lower_limit == round(4.0 * math.log(found.t) - 1.5, 2)
        assert found.observed == pytest.approx(totals[-1] - totals[0])
