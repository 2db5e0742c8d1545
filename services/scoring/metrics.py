"""Prometheus metrics of the scoring service. Labels: clinic, severity and how only, never a person."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Gauge

from services.scoring.translate import Outbound
from shared.contracts import RUPTURE_RESOLVED, RUPTURE_SUSPECTED

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
    "alliance_ruptures_resolved_total", "Episodes resolved: repaired, or by hand.", ["clinic", "how"]
)
RUPTURES_ACKNOWLEDGED = Counter(
    "alliance_ruptures_acknowledged_total", "Acknowledgements of rupture alerts applied.", ["clinic"]
)
OPEN_EPISODES = Gauge("alliance_open_episodes", "Clients with an open rupture episode now.", ["clinic"])


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


async def watch_open_episodes(
    count_by_clinic: Callable[[], Awaitable[dict[str, int]]], every: float = 15.0
) -> None:
    """Refresh ``alliance_open_episodes`` from the stored read model, forever; a failed refresh waits a turn."""
    known: set[str] = set()
    while True:
        try:
            counts = await count_by_clinic()
        except Exception:
            log.warning("could not count open episodes", exc_info=True)
        else:
            for clinic_id in known - counts.keys():
                OPEN_EPISODES.labels(clinic_id).set(0)
            for clinic_id, count in counts.items():
                OPEN_EPISODES.labels(clinic_id).set(count)
            known |= counts.keys()
        await asyncio.sleep(every)
