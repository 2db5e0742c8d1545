"""What each client contributes to its clinic's figures, stored with its read model, and the figures summed
from those contributions by MongoDB: the same figures as ``clinic_figures.clinic_figures`` computes by reading
every active client's read model, at the cost of one aggregation over an index.
"""

import functools
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from services.scoring.clinic_figures import (
    Acknowledged,
    ClinicFigures,
    Figures,
    OpenEpisode,
    OpenEpisodeFacts,
    RepairsByTag,
    Window,
)
from services.scoring.views import ClientAlliance, EpisodeView, SeverityName
from shared.repair import RepairStrategy, RuptureType

CONTRIBUTION = "clinic_contribution"  # fields of a client's stored document
OPEN_EPISODE = "clinic_open_episode"
UNKNOWN_THERAPIST = "unknown"  # as clinic_figures lists a client without a therapist
Document = dict[str, Any]


def contribution(alliance: ClientAlliance) -> Document:
    """What one client adds to its clinic's figures while it is active: exactly what ``clinic_figures`` reads of
    it. Stored and indexed with the read model at every save, so that the figures are one aggregation over these
    small parts (``figures_pipeline``), never a read of every active client's history.

    ``standing`` is what does not change as time passes (the client's therapist, its open episode's severity,
    each episode's outcome), as canonical JSON: clients of equal standing are summed as one group, and most
    clients share their standing with many others. The times are what falls in or out of the alert window as time
    passes: the sessions that count and the alerts, those under the client's therapist apart (the rare ones
    under another therapist are ``elsewhere``)."""
    opened = alliance.open_episode
    therapist = alliance.therapist_id or UNKNOWN_THERAPIST
    episodes = [*alliance.past_episodes, *([opened] if opened else [])]
    times: dict[str, Document] = defaultdict(lambda: {"sessions": [], "pushed": [], "from_history": []})
    for session in alliance.sessions:
        if session.counts:
            times[session.therapist_id]["sessions"].append(session.occurred_at)
    for episode in episodes:
        times[episode.therapist_id]["from_history" if episode.from_history else "pushed"] += [
            alert.session_at for alert in episode.alerts
        ]
    standing = {
        "therapist_id": therapist,
        "open_severity": opened.severity if opened else None,
        "episodes": sorted((_episode_standing(e) for e in episodes), key=repr),
    }
    own = times.pop(therapist, {"sessions": []})
    elsewhere = [_nonempty({"therapist_id": other, **parts}) for other, parts in sorted(times.items())]
    return _nonempty({"standing": json.dumps(standing, sort_keys=True), **own, "elsewhere": elsewhere})


def open_episode_part(alliance: ClientAlliance) -> Document | None:
    """What the clinic view lists of the client's open episode; None without one."""
    episode = alliance.open_episode
    if episode is None:
        return None
    acknowledgement = episode.acknowledgement
    return {
        "client_id": alliance.client_id,
        "rupture_id": episode.rupture_id,
        "therapist_id": episode.therapist_id,
        "opened_at": episode.opened_at,
        "severity": episode.severity,
        "stale": episode.stale,
        "sessions_since_opening": episode.sessions_since_opening,
        "from_history": episode.from_history,
        "acknowledged_by": acknowledgement.acknowledged_by if acknowledgement else None,
    }


def _episode_standing(episode: EpisodeView) -> tuple[Any, ...]:
    """(therapist, recognised by both, how it closed, sessions to repair, hours to acknowledge, rupture type,
    strategies): what ``_count_episode`` and ``RepairsByTag.count`` read of an episode, outside the window."""
    resolution = episode.resolution
    acknowledgement = episode.acknowledgement
    return (
        episode.therapist_id,
        episode.recognised_by == "both",
        resolution.how if resolution else None,
        resolution.sessions_to_repair if resolution else None,
        _hours_between(episode.opened_at, acknowledgement.acknowledged_at) if acknowledgement else None,
        episode.rupture_type,
        list(episode.strategies),
    )


def _nonempty(parts: Document) -> Document:
    """Without its empty lists: the aggregation adds nothing for a missing one, and most clients have no alert."""
    return {name: value for name, value in parts.items() if value != []}


def _hours_between(opened_at: datetime, acknowledged_at: datetime) -> float:
    """As ``_count_episode`` computes it from the stored times, which MongoDB keeps to the millisecond."""
    waited = _stored(acknowledged_at) - _stored(opened_at)
    return max(waited.total_seconds() / 3600, 0.0)


def _stored(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def figures_pipeline(clinic_id: str, now: datetime, days: int) -> list[Document]:
    """The aggregation of the clinic's active clients' contributions: one row per standing, with how many
    clients hold it and their sessions and alerts in the window.

    Active as the clinic figures have always read it (latest session at or after ``now - days``). The window's
    ends are rounded inwards to whole milliseconds: it then holds exactly the stored times ``Window.holds``
    holds."""
    window = Window.last(days, now)
    since, until = _stored(window.since), _stored(window.until)
    since += timedelta(milliseconds=1) if since < window.since else timedelta(0)

    def in_window(times: str) -> Document:
        held = {"$and": [{"$gte": ["$$at", since]}, {"$lte": ["$$at", until]}]}
        return {"$sum": {"$size": {"$filter": {"input": {"$ifNull": [times, []]}, "as": "at", "cond": held}}}}

    return [
        {"$match": {"clinic_id": clinic_id, "last_session_at": {"$gte": window.since}}},
        {"$project": {"_id": 0, "c": f"${CONTRIBUTION}"}},  # from the index alone
        {
            "$group": {
                "_id": "$c.standing",  # null for a document saved before contributions were stored
                "clients": {"$sum": 1},
                "sessions": in_window("$c.sessions"),
                "pushed": in_window("$c.pushed"),
                "from_history": in_window("$c.from_history"),
                "elsewhere": {"$push": "$c.elsewhere"},  # only where present
            }
        },
    ]


def open_episodes_query(clinic_id: str, now: datetime, days: int) -> Document:
    """The clinic's active clients with an open episode, for ``OPEN_EPISODE``'s index (which holds them only)."""
    return {
        "clinic_id": clinic_id,
        "last_session_at": {"$gte": now - timedelta(days=days)},
        OPEN_EPISODE: {"$type": "object"},
    }


def gathered_figures(
    rows: Iterable[Document], open_parts: Iterable[Document], now: datetime, window_days: int
) -> ClinicFigures | None:
    """The clinic's figures from the rows of ``figures_pipeline`` and the open episodes' parts; None when some
    active client's document holds no contribution (saved before they were stored)."""
    window = Window.last(window_days, now)
    therapists: dict[str, Figures] = defaultdict(Figures)
    by_severity: dict[SeverityName, int] = {"none": 0, "low": 0, "medium": 0, "high": 0}
    repairs = RepairsByTag()
    for row in rows:
        if row["_id"] is None:
            return None
        standing, clients = _standing(row["_id"]), row["clients"]
        mine = therapists[standing["therapist_id"]]
        mine.active_clients += clients
        mine.with_open_episode += clients if standing["open_severity"] is not None else 0
        by_severity[standing["open_severity"] or "none"] += clients
        mine.client_sessions += row["sessions"]
        mine.push_alerts += row["pushed"]
        mine.alerts_from_history += row["from_history"]
        for episode in standing["episodes"]:
            _count_standing(therapists, repairs, episode, clients)
        for elsewhere in row["elsewhere"]:
            for parts in elsewhere:
                _count_elsewhere(therapists, parts, window)
    clinic = Figures()
    for figures in therapists.values():
        clinic.add(figures)
    open_episodes = sorted((_open_episode(part, now) for part in open_parts), key=lambda o: o.rank)
    return ClinicFigures(
        clinic, dict(sorted(therapists.items())), open_episodes, by_severity, window_days, repairs
    )


@functools.lru_cache(maxsize=16_384)
def _standing(text: str) -> Document:
    """A standing as read back (not to be changed): the same few thousand recur from one request to the next."""
    standing: Document = json.loads(text)
    return standing


def _count_standing(
    therapists: dict[str, Figures], repairs: RepairsByTag, episode: list[Any], clients: int
) -> None:
    """``clients`` episodes of one standing, as ``_count_episode`` and ``RepairsByTag.count`` count each."""
    therapist, both, how, sessions, hours, kind, strategies = episode
    figures = therapists[therapist]
    repaired = [sessions] * clients if how == "repaired" and sessions is not None else []
    figures.episodes += clients
    figures.recognised_by_both += clients if both else 0
    figures.closed += clients if how else 0
    figures.repaired += repaired
    figures.settled += clients if how == "settled" else 0
    figures.by_hand += clients if how == "manual" else 0
    figures.hours_to_acknowledge += [hours] * clients if hours is not None else []
    named = [repairs.by_strategy[RepairStrategy(s)] for s in strategies]
    for outcome in named + ([repairs.by_type[RuptureType(kind)]] if kind else []):
        outcome.episodes += clients
        outcome.closed += clients if how else 0
        outcome.repaired += repaired


def _count_elsewhere(therapists: dict[str, Figures], parts: Document, window: Window) -> None:
    """Sessions and alerts under a therapist other than the client's. A therapist is listed for sessions only
    when some fall in the window, as in ``clinic_figures`` (an alert's therapist is listed by its episode)."""
    held = sum(window.holds(at) for at in parts.get("sessions", ()))
    if held:
        therapists[parts["therapist_id"]].client_sessions += held
    if parts.get("pushed") or parts.get("from_history"):
        theirs = therapists[parts["therapist_id"]]
        theirs.push_alerts += sum(window.holds(at) for at in parts.get("pushed", ()))
        theirs.alerts_from_history += sum(window.holds(at) for at in parts.get("from_history", ()))


def _open_episode(part: Document, now: datetime) -> OpenEpisode:
    by = part["acknowledged_by"]
    facts = OpenEpisodeFacts(
        part["rupture_id"],
        part["therapist_id"],
        part["opened_at"],
        part["severity"],
        part["stale"],
        part["sessions_since_opening"],
        part["from_history"],
        Acknowledged(by) if by is not None else None,
    )
    return OpenEpisode(part["client_id"], facts, max((now - facts.opened_at).days, 0))
