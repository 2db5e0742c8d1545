"""A clinic's thresholds: every number in DOMAIN.md's marker table, with its default, overridable per clinic."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any

from .errors import InvalidThresholds
from .severity import Severity
from .trajectories import ExpectedTrajectories

# Score thresholds live on the 0–40 total scale, the 0–10 item scale or a rupture report's 1–5 scales; counts
# are numbers of sessions.
_SCORE_CEILINGS: Mapping[str, Decimal] = {
    "srs_cutoff": Decimal(40),
    "item_low": Decimal(10),
    "drop_from_last": Decimal(40),
    "baseline_min_drop": Decimal(40),
    "baseline_sd_factor": Decimal(10),
    "steep_drop": Decimal(40),
    "steep_floor": Decimal(40),
    "ors_deterioration": Decimal(40),
    "blindspot_gap": Decimal(40),
    "repair_margin": Decimal(40),
    "report_high_intensity": Decimal(5),
    "report_high_resolution": Decimal(5),
    "report_medium_resolution": Decimal(5),
    "unrecognised_resolution_gap": Decimal(4),
    "goal_reliable_change": Decimal(10),
    "not_on_track_margin": Decimal(40),
}
_COUNT_MINIMUMS: Mapping[str, int] = {
    "baseline_window": 2,
    "baseline_min_earlier": 2,  # a sample sd needs two values
    "attendance_window": 1,
    "absence_run": 1,
    "missing_feedback_run": 1,
    "stale_after_sessions": 1,
    "baseline_established_after": 1,
    "settle_after_calm": 1,
    "partly_notes_in_a_row": 1,
    "not_on_track_run": 1,
    "not_on_track_from": 2,  # t = 1 is the intake itself; beyond 20 the curve says nothing
}
# The most sessions any count may span: far beyond any clinical use, and it keeps a count storable (MongoDB
# stores integers of at most 8 bytes; an unbounded one reached the database and failed there).
COUNT_MAXIMUM = 100
HORIZON_MAXIMUM = 3650  # ten years of days: anything older is history whatever the setting


@dataclass(frozen=True)
class Thresholds:
    """Clinic settings. Score fields are exact Decimals; ints and floats given here are converted."""

    # Defaults tuned to the alert budget of version 2.1 (docs/clinical.md says why each moved from the
    # number in DOMAIN.md's marker table, with the budget table before and after).
    srs_cutoff: Decimal = Decimal("32")  # below_cutoff: T(n) < cutoff; also the repair floor (DOMAIN: 36)
    item_low: Decimal = Decimal("7.0")  # item_low: any client SRS item < this (DOMAIN: 8.0)
    drop_from_last: Decimal = Decimal("3.0")  # T(n) <= T(n-1) - this (DOMAIN: 1.0)
    baseline_window: int = 5  # last <= this many earlier totals form the baseline
    baseline_min_earlier: int = 2  # drop_from_baseline needs at least this many earlier totals
    baseline_min_drop: Decimal = Decimal("3.5")  # T(n) < mean - max(this, factor * sd) (DOMAIN: 2.0)
    baseline_sd_factor: Decimal = Decimal("1.5")
    steep_drop: Decimal = Decimal("5.0")  # T(n) <= T(n-1) - this ...
    steep_floor: Decimal = Decimal("30")  # ... or T(n) < this
    ors_deterioration: Decimal = Decimal("7")  # ORS total <= first ORS total - this (DOMAIN: 5)
    attendance_window: int = 1  # no_show/late_cancel within this many sessions after an alliance marker (2)
    absence_run: int = 2  # ... or this many no_show/late_cancel in a row
    missing_feedback_run: int = 2  # this many attended sessions in a row without client SRS
    blindspot_gap: Decimal = Decimal("5")  # therapist SRS total - client SRS total >= this
    alert_threshold: Severity = Severity.MEDIUM  # first alert when an episode reaches this
    stale_after_sessions: int = 3  # open this many more sessions, latest still medium or high -> stale
    settle_after_calm: int = 2  # open episode whose latest this many client SRS sessions are calm -> settled
    baseline_established_after: int = 3  # SRS totals outside episodes before the client's usual counts
    repair_margin: Decimal = Decimal("1.0")  # repair: T >= mean(totals before episode) - this
    push_horizon_days: int = 14  # an alert about a session older than this when announced is not pushed
    # reported_rupture (version 2): high if intensity >= this and resolution <= the next; medium if
    # resolution <= the one after; low otherwise (resolved within the session).
    report_high_intensity: Decimal = Decimal("4")
    report_high_resolution: Decimal = Decimal("2")
    report_medium_resolution: Decimal = Decimal("3")
    unrecognised_resolution_gap: Decimal = Decimal("2")  # therapist's resolution - client's >= this
    partly_notes_in_a_row: int = 2  # next_steps_mismatch (low): the client answered "partly" this many times
    # goal_disagreement: client and therapist ratings of a goal differ by >= this; goal_setback: the client's
    # rating is <= their best earlier rating of the goal - this (reliable change on the 0-10 scale, near 2.5).
    goal_reliable_change: Decimal = Decimal("3")
    not_on_track_from: int = (
        3  # not_on_track looks from the client's t-th session with an ORS (intake: t = 1)
    )
    not_on_track_run: int = 1  # ... and needs this many ORS in a row below the lower limit (DOMAIN: 1)
    # ... the limit lying this many ORS points below the fitted 25th percentile (DOMAIN: 0). With the clinic's
    # curves fitted, the 25th percentile itself names a third of improving clients once in their therapy
    # (docs/calibration/budget.md, "Not on track"); 3.5 keeps the clients with nothing to find in budget.
    not_on_track_margin: Decimal = Decimal("3.5")
    # Not a setting: the fitted expected trajectories the clinic's clients are judged against (not_on_track),
    # loaded with the settings because a refit, like a change of settings, changes what the rules conclude.
    trajectories: ExpectedTrajectories | None = None

    def __post_init__(self) -> None:
        problems: dict[str, str] = {}
        for field in fields(self):
            value: Any = getattr(self, field.name)
            if field.name in _SCORE_CEILINGS:
                coerced = _as_decimal(value)
                if coerced is None:
                    problems[field.name] = "must be a finite number"
                elif not Decimal(0) <= coerced <= _SCORE_CEILINGS[field.name]:
                    problems[field.name] = f"must be between 0 and {_SCORE_CEILINGS[field.name]}"
                else:
                    object.__setattr__(self, field.name, coerced)
            elif field.name in _COUNT_MINIMUMS:
                if isinstance(value, bool) or not isinstance(value, int):
                    problems[field.name] = "must be a whole number of sessions"
                elif not _COUNT_MINIMUMS[field.name] <= value <= COUNT_MAXIMUM:
                    problems[field.name] = (
                        f"must be between {_COUNT_MINIMUMS[field.name]} and {COUNT_MAXIMUM}"
                    )
        horizon = self.push_horizon_days
        if isinstance(horizon, bool) or not isinstance(horizon, int) or not 0 <= horizon <= HORIZON_MAXIMUM:
            problems["push_horizon_days"] = f"must be a whole number of days between 0 and {HORIZON_MAXIMUM}"
        alert = _as_severity(self.alert_threshold)
        if alert is None or alert is Severity.NONE:
            problems["alert_threshold"] = "must be one of low, medium, high"
        else:
            object.__setattr__(self, "alert_threshold", alert)
        counts_valid = "baseline_window" not in problems and "baseline_min_earlier" not in problems
        if counts_valid and self.baseline_min_earlier > self.baseline_window:
            problems["baseline_min_earlier"] = "must not exceed baseline_window"
        if problems:
            raise InvalidThresholds("invalid thresholds", problems)

    @classmethod
    def from_mapping(cls, overrides: Mapping[str, object]) -> Thresholds:
        """The defaults with a clinic's overrides applied; unknown names are rejected, not ignored."""
        known = set(SETTING_NAMES)
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise InvalidThresholds("invalid thresholds", {name: "unknown setting" for name in unknown})
        return replace(cls(), **overrides)  # type: ignore[arg-type]  # __post_init__ checks the types


SETTING_NAMES: tuple[str, ...] = tuple(
    field.name for field in fields(Thresholds) if field.name != "trajectories"
)


def _as_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, int | Decimal | str):
        try:
            result = Decimal(value)
        except ArithmeticError:
            return None
        return result if result.is_finite() else None
    return None


def _as_severity(value: object) -> Severity | None:
    if isinstance(value, Severity):
        return value
    try:
        return Severity(value)
    except ValueError:
        return None


# The numbers of DOMAIN.md's marker table: a clinic that wants them, and the rule tests, which are written in
# them, use ``Thresholds.from_mapping(MARKER_TABLE_NUMBERS)``.
MARKER_TABLE_NUMBERS: Mapping[str, object] = {
    "srs_cutoff": Decimal("36"),
    "item_low": Decimal("8.0"),
    "drop_from_last": Decimal("1.0"),
    "baseline_min_drop": Decimal("2.0"),
    "ors_deterioration": Decimal("5"),
    "attendance_window": 2,
    "not_on_track_margin": Decimal("0"),
}
