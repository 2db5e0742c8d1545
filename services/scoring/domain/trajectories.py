"""Expected trajectories: how a clinic's clients usually improve, fitted on its own ORS (DOMAIN.md version 2,
"Not on track"). Pure: the fit and the check, no storage and no schedule.

The method is published and simple, after Finch, Lambert and Schaalje (2001) for the OQ-45: clients are grouped
by the band of their first ORS total (intake); within a band, the change from intake at the t-th session with
an ORS (t = 2 … 20) is modelled as ``b · ln(t)``, fitted by least squares through the origin, and the band's
lower limit lies the residuals' empirical 25th percentile below that curve. A client whose change from intake at
t ≥ 3 falls under the lower limit of their band is not on track.

What it can say: this client improves less than three in four comparable clients of this clinic did by this
session. What it cannot: why, whether the clinic's clients themselves improve as they should, or anything for
a band with fewer than 30 clients of at least 4 ORS (the platform-wide fit stands in, or nothing does).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

MIN_CLIENTS = 30  # clients with at least MIN_ORS ORS that make a band usable
MIN_ORS = 4
MAX_T = 20  # sessions with an ORS the curve covers, intake being t = 1
FIRST_CHECKED_T = 3  # not_on_track looks from the third ORS on


class IntakeBand(Enum):
    """The band of a client's first ORS total."""

    BELOW_10 = "<10"
    FROM_10 = "10-14.9"
    FROM_15 = "15-19.9"
    FROM_20 = "20-24.9"
    FROM_25 = "25+"

    @classmethod
    def of(cls, intake: float) -> IntakeBand:
        for limit, band in ((10, cls.BELOW_10), (15, cls.FROM_10), (20, cls.FROM_15), (25, cls.FROM_20)):
            if intake < limit:
                return band
        return cls.FROM_25


@dataclass(frozen=True)
class BandFit:
    """One band's curve: expected change ``b · ln(t)`` and the lower limit ``lower_offset`` below it (a negative
    number: the residuals' 25th percentile), with what it rests on."""

    band: IntakeBand
    b: float
    lower_offset: float
    clients: int  # clients with at least MIN_ORS ORS
    observations: int  # (client, t) changes the fit used

    def expected(self, t: int) -> float:
        return self.b * math.log(t)

    def lower_limit(self, t: int) -> float:
        return self.expected(t) + self.lower_offset

    def shown_expected(self, t: int) -> float:
        """The expected change as alerts and views show it: to two decimals."""
        return round(self.expected(t), 2)

    def judged_limit(self, t: int, margin: float = 0.0) -> float:
        """The limit ``not_on_track`` judges by, and every alert and view shows: the fitted lower limit less a
        clinic's margin, to two decimals, so an alert never shows a change equal to its limit."""
        return round(self.lower_limit(t) - margin, 2)


Fit = Mapping[IntakeBand, BandFit]  # the usable bands only


def fit(clients: Iterable[Sequence[float]]) -> dict[IntakeBand, BandFit]:
    """The usable bands' curves from each client's ORS totals in session order (one sequence per client)."""
    by_band: dict[IntakeBand, list[Sequence[float]]] = {}
    for totals in clients:
        if len(totals) >= MIN_ORS:
            by_band.setdefault(IntakeBand.of(totals[0]), []).append(totals)
    fitted = (_fit_band(band, members) for band, members in by_band.items() if len(members) >= MIN_CLIENTS)
    return {found.band: found for found in fitted}


def _fit_band(band: IntakeBand, members: Sequence[Sequence[float]]) -> BandFit:
    points = [
        (math.log(t), totals[t - 1] - totals[0])
        for totals in members
        for t in range(2, min(len(totals), MAX_T) + 1)
    ]
    b = sum(x * y for x, y in points) / sum(x * x for x, _ in points)
    residuals = [y - b * x for x, y in points]
    lower = statistics.quantiles(residuals, n=4, method="inclusive")[0]
    return BandFit(band, b, lower, len(members), len(points))


@dataclass(frozen=True)
class TrajectoryModel:
    """One fit, as stored and published: its version, whose clients it rests on, and its usable bands."""

    version: str
    scope: str  # "clinic" or "platform"
    bands: tuple[BandFit, ...]

    def band(self, band: IntakeBand) -> BandFit | None:
        return next((found for found in self.bands if found.band is band), None)


@dataclass(frozen=True)
class Chosen:
    """The curve a client is judged against, and whose it is."""

    fit: BandFit
    scope: str  # "clinic" or "platform"
    version: str = ""


@dataclass(frozen=True)
class ExpectedTrajectories:
    """What a clinic's clients are judged against: its own latest model and the platform-wide one."""

    clinic: TrajectoryModel | None = None
    platform: TrajectoryModel | None = None

    def curve_for(self, intake: float) -> Chosen | None:
        """The clinic's own curve for the client's band; else the platform-wide one; else none (only
        ors_deterioration applies then)."""
        band = IntakeBand.of(intake)
        for model in (self.clinic, self.platform):
            if model is not None and (found := model.band(band)) is not None:
                return Chosen(found, model.scope, model.version)
        return None

    @property
    def versions(self) -> str:
        """The versions in force, which name the rules a client was last judged by (a refit is a change of
        rules: it is taken over without alerting about the past, like a new ``RULES_VERSION``)."""
        # A model without a usable band judges no one: it changes nothing a client was judged by.
        return "/".join(
            model.version for model in (self.clinic, self.platform) if model is not None and model.bands
        )


def curve_for(intake: float, clinic: Fit, platform: Fit) -> Chosen | None:
    """``ExpectedTrajectories.curve_for`` for fits without a version (the fitting job's own checks)."""
    expected = ExpectedTrajectories(
        TrajectoryModel("", "clinic", tuple(clinic.values())),
        TrajectoryModel("", "platform", tuple(platform.values())),
    )
    return expected.curve_for(intake)


@dataclass(frozen=True)
class OffTrack:
    """The client's change from intake at their t-th ORS, below their band's lower limit."""

    t: int
    expected: float
    lower_limit: float
    observed: float


def off_track(
    totals: Sequence[float], chosen: Chosen, first_t: int = FIRST_CHECKED_T, margin: float = 0.0
) -> OffTrack | None:
    """Whether the latest of ``totals`` (the client's ORS in session order) is below the lower limit; only from
    t = ``first_t`` (3; a clinic setting) and up to t = 20, where the curve was fitted. ``margin`` (a clinic
    setting) lowers the limit below the fitted 25th percentile."""
    t = len(totals)
    if not max(first_t, 2) <= t <= MAX_T:
        return None
    observed = totals[-1] - totals[0]
    limit = chosen.fit.judged_limit(t, margin)
    return OffTrack(t, chosen.fit.shown_expected(t), limit, observed) if observed < limit else None
