"""Prometheus metrics of the scoring service. Labels: clinic, severity, how and scope only, never a person."""

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from prometheus_client import Counter, Gauge

from services.scoring.translate import Outbound
from shared.contracts import RUPTURE_RESOLVED, RUPTURE_SUSPECTED
from shared.messaging.loop import WakeableLoop

log = logging.getLogger("alliance.scoring.metrics")

RUPTURES_OPENED = Counter(
    "alliance_ruptures_opened_total",
    "Rupture episodes opened, by severity at opening.",
    ["clinic", "severity"],
)
RUPTURES_ROSE = Counter(
    "alliance_ruptures_rose_total",
    "Open episodes whose severity rose, by the new severity.",
    ["clinic", "severity"],
)
RUPTURES_STALE = Counter("alliance_ruptures_stale_total", "Episodes left open too long.", ["clinic"])
RUPTURES_RESOLVED = Counter(
    "alliance_ruptures_resolved_total", "Episodes resolved: repaired, settled, or by hand.", ["clinic", "how"]
)
RUPTURES_ACKNOWLEDGED = Counter(
    "alliance_ruptures_acknowledged_total", "Acknowledgements of rupture alerts applied.", ["clinic"]
)
OPEN_EPISODES = Gauge("alliance_open_episodes", "Clients with an open rupture episode now.", ["clinic"])
TRAJECTORY_FITS = Counter(
    "alliance_trajectory_fits_total",
    "Expected-trajectory models fitted and stored by this replica, by scope (clinic or platform).",
    ["scope"],
)
TRAJECTORIES_FITTED_AT = Gauge(
    "alliance_trajectories_fitted_timestamp_seconds",
    "When the latest expected trajectories were fitted (Unix time), by scope: platform, read from the stored "
    "models at every check; clinic, the latest clinic model this replica fitted.",
    ["scope"],
)


def count_committed(staged: list[Outbound], acknowledged_in: list[str]) -> None:
    for kind, event in staged:
        if kind is RUPTURE_SUSPECTED:
            if event.data.stale:
                RUPTURES_STALE.labels(event.clinicid).inc()
            elif event.data.previous_severity is None:
                RUPTURES_OPENED.labels(event.clinicid, event.data.severity.value).inc()
            else:
                RUPTURES_ROSE.labels(event.clinicid, event.data.severity.value).inc()
        elif kind is RUPTURE_RESOLVED:
            RUPTURES_RESOLVED.labels(event.clinicid, event.data.how).inc()
    for clinic_id in acknowledged_in:
        RUPTURES_ACKNOWLEDGED.labels(clinic_id).inc()


def count_fit(scope: str, fitted_at: datetime) -> None:
    TRAJECTORY_FITS.labels(scope).inc()
    TRAJECTORIES_FITTED_AT.labels(scope).set(fitted_at.timestamp())


def show_platform_fit(fitted_at: datetime | None) -> None:
    if fitted_at is not None:
        TRAJECTORIES_FITTED_AT.labels("platform").set(fitted_at.timestamp())


class OpenEpisodesGauge(WakeableLoop):
    """Refreshes ``alliance_open_episodes`` from the stored read model every ``every`` seconds."""

    def __init__(self, count_by_clinic: Callable[[], Awaitable[dict[str, int]]], every: float = 15.0) -> None:
        super().__init__("open-episodes-gauge", every)
        self._count_by_clinic = count_by_clinic
        self._known: set[str] = set()

    async def refresh(self) -> None:
        counts = await self._count_by_clinic()
        for clinic_id in self._known - counts.keys():
            OPEN_EPISODES.labels(clinic_id).set(0)
        for clinic_id, count in counts.items():
            OPEN_EPISODES.labels(clinic_id).set(count)
        self._known |= counts.keys()

    async def run(self) -> None:
        await self.run_steps(self.refresh)
