from decimal import Decimal

import pytest

from services.scoring.domain import InvalidThresholds, Severity, Thresholds

DOCUMENTED_DEFAULTS: dict[str, object] = {
    "srs_cutoff": Decimal(32),
    "item_low": Decimal("7.0"),
    "drop_from_last": Decimal("3.0"),
    "baseline_window": 5,
    "baseline_min_earlier": 2,
    "baseline_min_drop": Decimal("3.5"),
    "baseline_sd_factor": Decimal("1.5"),
    "steep_drop": Decimal("5.0"),
    "steep_floor": Decimal(30),
    "ors_deterioration": Decimal(7),
    "attendance_window": 1,
    "absence_run": 2,
    "missing_feedback_run": 2,
    "blindspot_gap": Decimal(5),
    "alert_threshold": Severity.MEDIUM,
    "stale_after_sessions": 3,
    "repair_margin": Decimal("1.0"),
    "push_horizon_days": 14,
    "settle_after_calm": 2,
    "baseline_established_after": 3,
    # DOMAIN.md's version 2 levels of reported_rupture and unrecognised_rupture, unchanged
    "report_high_intensity": Decimal(4),
    "report_high_resolution": Decimal(2),
    "report_medium_resolution": Decimal(3),
    "unrecognised_resolution_gap": Decimal(2),
    "partly_notes_in_a_row": 2,
    "goal_reliable_change": Decimal(3),
    "not_on_track_from": 3,
    "not_on_track_run": 1,
    "not_on_track_margin": Decimal("3.5"),
    "trajectories": None,  # fitted per clinic (not_on_track); none until the first fit
}


@pytest.mark.parametrize(("name", "value"), list(DOCUMENTED_DEFAULTS.items()), ids=list(DOCUMENTED_DEFAULTS))
def test_defaults_are_the_documented_ones(name: str, value: object) -> None:
    assert getattr(Thresholds(), name) == value


def test_every_field_has_a_documented_default() -> None:
    assert set(vars(Thresholds())) == set(DOCUMENTED_DEFAULTS)


def test_clinic_overrides_are_applied_exactly() -> None:
    thresholds = Thresholds.from_mapping(
        {"srs_cutoff": 35.5, "stale_after_sessions": 4, "alert_threshold": "high"}
    )
    assert thresholds.srs_cutoff == Decimal("35.5")
    assert isinstance(thresholds.srs_cutoff, Decimal)
    assert thresholds.stale_after_sessions == 4
    assert thresholds.alert_threshold is Severity.HIGH
    assert thresholds.item_low == Decimal("7.0")  # untouched: the default


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"srs_cutoff": -1}, "srs_cutoff", id="negative-score"),
        pytest.param({"srs_cutoff": 41}, "srs_cutoff", id="cutoff-above-40"),
        pytest.param({"item_low": 10.5}, "item_low", id="item-low-above-10"),
        pytest.param({"repair_margin": float("nan")}, "repair_margin", id="nan"),
        pytest.param({"steep_drop": float("inf")}, "steep_drop", id="infinity"),
        pytest.param({"blindspot_gap": True}, "blindspot_gap", id="bool"),
        pytest.param({"drop_from_last": "lots"}, "drop_from_last", id="not-a-number"),
        pytest.param({"stale_after_sessions": 0}, "stale_after_sessions", id="zero-sessions"),
        pytest.param({"attendance_window": -2}, "attendance_window", id="negative-count"),
        pytest.param({"missing_feedback_run": 2.5}, "missing_feedback_run", id="fractional-count"),
        pytest.param({"attendance_window": 101}, "attendance_window", id="count-above-100"),
        # found by Schemathesis: an integer MongoDB cannot store reached the database and failed there (500)
        pytest.param({"attendance_window": 80933364767103778816}, "attendance_window", id="huge-count"),
        pytest.param({"baseline_min_earlier": 1}, "baseline_min_earlier", id="sd-needs-two"),
        pytest.param({"baseline_min_earlier": 6}, "baseline_min_earlier", id="min-earlier-above-window"),
        pytest.param({"alert_threshold": "none"}, "alert_threshold", id="alert-threshold-none"),
        pytest.param({"alert_threshold": "urgent"}, "alert_threshold", id="alert-threshold-unknown"),
        pytest.param({"cutoff": 30}, "cutoff", id="unknown-setting"),
    ],
)
def test_invalid_overrides_are_rejected_naming_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidThresholds) as raised:
        Thresholds.from_mapping(overrides)
    assert raised.value.fields == (field,)


def test_zero_is_a_valid_threshold() -> None:
    assert Thresholds.from_mapping({"steep_floor": 0, "drop_from_last": 0}).steep_floor == Decimal(0)
