"""not_on_track (DOMAIN.md version 2): the client's change from intake against the lower limit of their intake
band's fitted curve, the clinic's own or the platform-wide one, named by its version."""

import math
from dataclasses import replace
from decimal import Decimal

import pytest

from services.scoring.domain import (
    RULES_VERSION,
    BandFit,
    ExpectedTrajectories,
    IntakeBand,
    MarkerCode,
    MarkerFamily,
    RuptureSuspected,
    Severity,
    Thresholds,
    TrajectoryModel,
    rules_version,
)

from .builders import assess, markers_at, table

C = MarkerCode
# Clients of intake 15–19.9 improve by 4 · ln(t); the lower limit lies 1.5 below.
BAND_15 = BandFit(IntakeBand.FROM_15, b=4.0, lower_offset=-1.5, clients=40, observations=280)
CLINIC_MODEL = TrajectoryModel("clinic-1@2026-11-28T03:00:00Z", "clinic", (BAND_15,))
BAND_20 = BandFit(IntakeBand.FROM_20, b=2.0, lower_offset=-1.0, clients=90, observations=700)
PLATFORM_MODEL = TrajectoryModel(
    "platform@2026-11-28T03:00:00Z", "platform", (BAND_20, replace(BAND_15, b=1.0))
)


def with_models(
    clinic: TrajectoryModel | None = CLINIC_MODEL, platform: TrajectoryModel | None = None
) -> Thresholds:
    return replace(table({}), trajectories=ExpectedTrajectories(clinic, platform))  # DOMAIN: no margin


def _ors(*totals: float) -> list[str]:
    return [f"38+ors={total}" for total in totals]


def test_flat_at_the_third_ors_is_not_on_track_and_names_the_model() -> None:
    assessment = assess(_ors(16, 17, 16), with_models())
    assert markers_at(assessment, 2, C.NOT_ON_TRACK) == []  # t = 2 is not checked
    (marker,) = markers_at(assessment, 3, C.NOT_ON_TRACK)
    assert marker.observed == Decimal("0.0")
    assert marker.expected == Decimal(str(round(4.0 * math.log(3), 2)))
    assert marker.threshold == Decimal(str(round(4.0 * math.log(3) - 1.5, 2)))
    assert marker.model == "clinic-1@2026-11-28T03:00:00Z"
    assert (marker.family, marker.level) == (MarkerFamily.OUTCOME, Severity.MEDIUM)


@pytest.mark.parametrize(
    ("third", "fires"),
    [
        pytest.param(16 + round(4 * math.log(3) - 1.5, 2) - 0.1, True, id="just-below-the-limit"),
        pytest.param(16 + round(4 * math.log(3) - 1.5, 2), False, id="at-the-limit-is-on-track"),
        pytest.param(21, False, id="above-the-curve"),
    ],
)
def test_the_limit_is_strict(third: float, fires: bool) -> None:
    assessment = assess(_ors(16, 18, round(third, 1)), with_models())
    assert bool(markers_at(assessment, 3, C.NOT_ON_TRACK)) is fires


def test_no_model_no_marker() -> None:
    assert markers_at(assess(_ors(16, 16, 16), table({})), 3, C.NOT_ON_TRACK) == []


def test_a_band_without_a_clinic_curve_falls_back_to_the_platform_curve() -> None:
    assessment = assess(_ors(22, 22, 22), with_models(platform=PLATFORM_MODEL))
    (marker,) = markers_at(assessment, 3, C.NOT_ON_TRACK)
    assert marker.model == "platform@2026-11-28T03:00:00Z"
    assert marker.threshold == Decimal(str(round(2.0 * math.log(3) - 1.0, 2)))


def test_the_clinic_curve_wins_over_the_platform_curve_for_its_band() -> None:
    # The platform's curve for 15–19.9 expects little (b = 1): flat would be on track by it, not by the clinic's.
    assessment = assess(_ors(16, 16, 16), with_models(platform=PLATFORM_MODEL))
    assert [m.model for m in markers_at(assessment, 3, C.NOT_ON_TRACK)] == [CLINIC_MODEL.version]


def test_a_band_no_model_covers_says_nothing() -> None:
    assert markers_at(assess(_ors(5, 5, 5), with_models(platform=PLATFORM_MODEL)), 3, C.NOT_ON_TRACK) == []


def test_t_counts_sessions_with_an_ors_and_stops_after_twenty() -> None:
    specs = ["38+ors=16", "38", "38", "38+ors=16", "38+ors=16"]  # sessions without ORS do not count
    assessment = assess(specs, with_models())
    assert markers_at(assessment, 4, C.NOT_ON_TRACK) == []  # its t is 2
    assert len(markers_at(assessment, 5, C.NOT_ON_TRACK)) == 1
    long = assess(_ors(*[16.0] * 21), with_models())
    assert markers_at(long, 21, C.NOT_ON_TRACK) == []  # the curve was fitted up to t = 20


def test_it_opens_an_episode_that_alerts_at_the_first_session_below_the_limit() -> None:
    assessment = assess(_ors(16, 17, 16, 16), with_models())
    (episode,) = assessment.timeline.episodes
    assert episode.opening_session_id == "s03"
    alerts = [e for e in assessment.timeline.events if isinstance(e, RuptureSuspected)]
    assert [(e.session_id, e.severity) for e in alerts] == [("s03", Severity.MEDIUM)]


def test_a_refit_is_a_change_of_rules() -> None:
    assert rules_version(Thresholds()) == RULES_VERSION
    first = rules_version(with_models())
    refit = rules_version(with_models(replace(CLINIC_MODEL, version="clinic-1@2026-11-29T03:00:00Z")))
    assert first.startswith(RULES_VERSION) and CLINIC_MODEL.version in first
    assert refit != first


def test_the_first_session_checked_is_a_clinic_setting() -> None:
    later = replace(with_models(), not_on_track_from=4)
    assessment = assess(_ors(16, 16, 16, 16), later)
    assert markers_at(assessment, 3, C.NOT_ON_TRACK) == []
    assert len(markers_at(assessment, 4, C.NOT_ON_TRACK)) == 1


def test_the_margin_lowers_the_limit_by_that_many_points() -> None:
    limit = round(4.0 * math.log(3) - 1.5, 2)
    specs = _ors(16, 18, round(16 + limit - 1.0, 1))  # 1 point under the fitted limit
    assert len(markers_at(assess(specs, with_models()), 3, C.NOT_ON_TRACK)) == 1
    wider = replace(with_models(), not_on_track_margin=Decimal("1.5"))
    assert markers_at(assess(specs, wider), 3, C.NOT_ON_TRACK) == []
    flat = assess(_ors(16, 16, 16), wider)
    assert [m.threshold for m in markers_at(flat, 3, C.NOT_ON_TRACK)] == [Decimal(str(round(limit - 1.5, 2)))]


def test_a_run_needs_that_many_ors_in_a_row_below_the_limit() -> None:
    run = replace(with_models(), not_on_track_run=2)
    assessment = assess(_ors(16, 16, 16, 16, 22, 16), run)
    flagged = [n for n in range(1, 7) if markers_at(assessment, n, C.NOT_ON_TRACK)]
    assert flagged == [4]  # t = 3 and 4 below; t = 5 back on track; t = 6 below again, alone


def test_a_model_without_a_usable_band_changes_no_rules() -> None:
    empty = TrajectoryModel("clinic-1@2026-11-29T03:00:00Z", "clinic", ())
    assert rules_version(with_models(empty)) == RULES_VERSION
