"""A client at a glance, for ``alliance.updated`` and the read API."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .baseline import mean, shown, slope
from .episodes import EpisodeTimeline, RuptureEpisode
from .events import ResolutionHow
from .markers import Marker
from .marking import MarkedSession
from .severity import Severity
from .thresholds import Thresholds


@dataclass(frozen=True)
class ClientSummary:
    """``baseline``: mean of the last ≤ window client SRS totals, latest included. ``trend``: least-squares slope
    of those same totals in points per session (negative = declining; None under two totals). Both rounded to
    two decimals. ``latest_*`` describe the last session in session order."""

    clinic_id: str
    client_id: str
    session_count: int
    client_srs_count: int
    latest_session_id: str | None
    latest_session_at: datetime | None
    latest_srs_total: Decimal | None
    latest_severity: Severity
    latest_markers: tuple[Marker, ...]
    baseline: Decimal | None
    trend: Decimal | None
    open_episode: RuptureEpisode | None
    episode_count: int
    repaired_count: int
    resolved_by_hand_count: int
    settled_count: int  # closed because the latest sessions calmed down, without a return to the usual


def summarize(
    clinic_id: str,
    client_id: str,
    sessions: Sequence[MarkedSession],
    timeline: EpisodeTimeline,
    thresholds: Thresholds,
    client_srs_count: int | None = None,
) -> ClientSummary:
    """``client_srs_count``: how many of ``sessions`` have a client SRS, when the caller has counted them
    already (the window is read from the latest sessions backwards, so the rest need not be looked at)."""
    if client_srs_count is None:
        client_srs_count = sum(1 for m in sessions if m.srs_total is not None)
    window = list(itertools.islice(_totals_backwards(sessions), thresholds.baseline_window))[::-1]
    latest = sessions[-1] if sessions else None
    rising = slope(window)
    resolutions = [e.resolution.how for e in timeline.episodes if e.resolution is not None]
    return ClientSummary(
        clinic_id=clinic_id,
        client_id=client_id,
        session_count=len(sessions),
        client_srs_count=client_srs_count,
        latest_session_id=latest.session_id if latest else None,
        latest_session_at=latest.session.occurred_at if latest else None,
        latest_srs_total=window[-1] if window else None,
        latest_severity=latest.severity if latest else Severity.NONE,
        latest_markers=latest.markers if latest else (),
        baseline=shown(mean(window)) if window else None,
        trend=shown(rising) if rising is not None else None,
        open_episode=timeline.open_episode,
        episode_count=len(timeline.episodes),
        repaired_count=resolutions.count(ResolutionHow.REPAIRED),
        resolved_by_hand_count=resolutions.count(ResolutionHow.MANUAL),
        settled_count=resolutions.count(ResolutionHow.SETTLED),
    )


def _totals_backwards(sessions: Sequence[MarkedSession]) -> Iterator[Decimal]:
    return (m.srs_total for m in reversed(sessions) if m.srs_total is not None)
