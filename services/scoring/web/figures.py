"""Pure computations behind the client and caseload views: chart series, caseload order, sparklines (the clinic
figures are ``services.scoring.clinic_figures``, shared with the JSON API).

Everything here works on the stored read model (``views.py``); nothing is re-assessed on a read.
"""

import functools
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.scoring import domain
from services.scoring.clinic_figures import SEVERITY_RANK
from services.scoring.views import ClientAlliance, EpisodeView, SessionView, SummaryView
from services.scoring.web.wording import marker_words

SRS_ITEMS = ("relationship", "goals", "approach", "overall")
SPARK_SESSIONS = 10


def rating_total(session: SessionView, instrument: str, respondent: str) -> float | None:
    return next(
        (r.total for r in session.ratings if r.instrument == instrument and r.respondent == respondent), None
    )


def rating_items(session: SessionView, instrument: str, respondent: str) -> dict[str, float]:
    return next(
        (r.items for r in session.ratings if r.instrument == instrument and r.respondent == respondent), {}
    )


def _position(moment: datetime, times: Sequence[datetime]) -> float:
    """Where ``moment`` falls on the session axis (index 0 = first session), between sessions if need be."""
    if not times or moment <= times[0]:
        return 0.0
    for i in range(len(times) - 1):
        if times[i] <= moment < times[i + 1]:
            span = (times[i + 1] - times[i]).total_seconds() or 1.0
            return round(i + (moment - times[i]).total_seconds() / span, 3)
    return len(times) - 1 + 0.25  # after the last session: just right of it


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def client_chart(alliance: ClientAlliance, thresholds: domain.Thresholds) -> dict[str, Any]:
    """Everything the client chart draws, as JSON-ready data (x = session index)."""
    sessions = alliance.sessions
    times = [s.occurred_at for s in sessions]
    cutoff = float(thresholds.srs_cutoff)
    client_totals: list[float | None] = [s.srs_total for s in sessions]
    band_low: list[float | None] = []
    band_high: list[float | None] = []
    earlier: list[float] = []
    for session in sessions:
        window = earlier[-thresholds.baseline_window :]
        if session.baseline is not None and len(window) >= thresholds.baseline_min_earlier:
            sd = statistics.stdev(window) if len(window) >= 2 else 0.0
            half = max(float(thresholds.baseline_min_drop), float(thresholds.baseline_sd_factor) * sd)
            band_low.append(_round(session.baseline - half))
            band_high.append(_round(session.baseline + half))
        else:
            band_low.append(None)
            band_high.append(None)
        if session.srs_total is not None:
            earlier.append(session.srs_total)
    episodes = [alliance.open_episode] if alliance.open_episode else []
    episodes = [*alliance.past_episodes, *episodes]
    index = {s.session_id: i for i, s in enumerate(sessions)}
    spans = []
    acknowledgements = []
    resolutions = []
    for episode in episodes:
        start = index.get(episode.opening_session_id, 0)
        resolution = episode.resolution
        if resolution is None:
            end: float = len(sessions) - 1
        elif resolution.session_id is not None and resolution.session_id in index:
            end = index[resolution.session_id]
        else:
            end = _position(resolution.resolved_at, times)
        spans.append(
            {
                "rupture_id": episode.rupture_id,
                "start": start,
                "end": end,
                "open": resolution is None,
                "how": resolution.how if resolution else None,
                "stale": episode.stale,
                "severity": episode.severity,
                "from_history": episode.from_history,
            }
        )
        if episode.acknowledgement is not None:
            acknowledgements.append(
                {
                    "x": _position(episode.acknowledgement.acknowledged_at, times),
                    "y": 39.5,
                    "by": episode.acknowledgement.acknowledged_by,
                    "rupture_id": episode.rupture_id,
                }
            )
        if resolution is not None and resolution.how == "manual":
            resolutions.append(
                {"x": end, "y": 39.5, "by": resolution.resolved_by or "", "rupture_id": episode.rupture_id}
            )
    return {
        "labels": [f"{s.occurred_at:%Y-%m-%d}" for s in sessions],
        "session_ids": [s.session_id for s in sessions],
        "cutoff": cutoff,
        "client_srs": client_totals,
        "therapist_srs": [rating_total(s, "srs", "therapist") for s in sessions],
        "ors": [rating_total(s, "ors", "client") for s in sessions],
        "items": {name: [rating_items(s, "srs", "client").get(name) for s in sessions] for name in SRS_ITEMS},
        "baseline": [s.baseline for s in sessions],
        "band_low": band_low,
        "band_high": band_high,
        "markers": [
            {
                "x": i,
                "y": s.srs_total if s.srs_total is not None else cutoff,
                "codes": [m.code for m in s.markers],
                "words": [marker_words(m) for m in s.markers],
                "severity": s.severity,
            }
            for i, s in enumerate(sessions)
            if s.markers
        ],
        "episodes": spans,
        "acknowledgements": acknowledgements,
        "resolutions": resolutions,
    }


def blind_spots(session: SessionView, thresholds: domain.Thresholds) -> bool:
    """The therapist rated the session at least the blind-spot gap above the client (shown in the table)."""
    client, therapist = rating_total(session, "srs", "client"), rating_total(session, "srs", "therapist")
    return (
        client is not None and therapist is not None and therapist - client >= float(thresholds.blindspot_gap)
    )


# ---- caseload --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseloadRow:
    client_id: str
    summary: SummaryView
    open_episode: EpisodeView | None
    recent_totals: list[float]
    days_since: int | None

    @property
    def need(self) -> tuple[int, int, float, str]:
        """Sort key, most in need first: open episode severity, stale, then the steepest decline."""
        episode = self.open_episode
        severity = SEVERITY_RANK[episode.severity] if episode else 0
        stale = 1 if episode and episode.stale else 0
        trend = self.summary.trend if self.summary.trend is not None else math.inf
        return (-severity, -stale, trend, self.client_id)

    @property
    def spark(self) -> str:
        return sparkline_points(self.recent_totals)


def caseload_rows(entries: Iterable[tuple[ClientAlliance, list[float]]], now: datetime) -> list[CaseloadRow]:
    rows = [
        CaseloadRow(
            client_id=alliance.client_id,
            summary=alliance.summary,
            open_episode=alliance.open_episode,
            recent_totals=totals[-SPARK_SESSIONS:],
            days_since=(now - alliance.summary.latest_session_at).days
            if alliance.summary.latest_session_at
            else None,
        )
        for alliance, totals in entries
    ]
    return sorted(rows, key=lambda row: row.need)


SPARK_FLOOR, SPARK_TOP = 20.0, 40.0  # a fixed scale, so sparklines compare across clients


def sparkline_points(totals: Sequence[float], width: int = 120, height: int = 28) -> str:
    """SVG polyline points of the totals on the fixed 20–40 scale (lower totals sit on the floor). The
    arithmetic of ``spark_y``, inline: a caseload draws thousands of points."""
    if not totals:
        return ""
    span = SPARK_TOP - SPARK_FLOOR
    return " ".join(
        f"{x},{round(height - (min(max(total, SPARK_FLOOR), SPARK_TOP) - SPARK_FLOOR) / span * height, 1)}"
        for x, total in zip(_spark_xs(len(totals), width), totals, strict=True)
    )


@functools.cache
def _spark_xs(count: int, width: int) -> tuple[str, ...]:
    step = width / max(count - 1, 1)
    return tuple(f"{i * step:.1f}" for i in range(count))


def spark_y(total: float, height: int = 28) -> float:
    share = (min(max(total, SPARK_FLOOR), SPARK_TOP) - SPARK_FLOOR) / (SPARK_TOP - SPARK_FLOOR)
    return round(height - share * height, 1)
