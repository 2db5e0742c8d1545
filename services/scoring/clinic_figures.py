"""Clinic-level figures over the stored read models: the one aggregate behind ``GET /v1/clinic/summary`` and the
clinic view, so both say the same numbers.

Nothing is re-assessed on a read: every figure reads what the projection stored once per change (episodes with
their resolutions and dated alerts, sessions with their times, therapists and whether they count).
``clinic_figures`` defines them over the active clients' read models; ``clinic_contributions`` has MongoDB sum
the same figures from what each client contributes, which is what the reads use.
"""

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from services.scoring.views import ClientAlliance, ClinicSummary, EpisodeView, RepairFigures, SeverityName
from shared.repair import STRATEGY_WORDS, TYPE_WORDS, RepairStrategy, RuptureType

# DOMAIN.md, version 2.1, "The alert budget, and how it is checked": push alerts per client-session, all
# clients, at the default settings (≤ 0.03 for clients without a planted rupture; a clinic's own clients are
# not sorted that way, so the all-clients figure is the one to hold a clinic to).
PUSH_ALERT_BUDGET = 0.06
# DOMAIN.md, "Clinic-level figures worth showing": feedback systems in practice flag around a tenth of cases.
ONE_IN_TEN = 0.10
SEVERITY_RANK: dict[SeverityName, int] = {"none": 0, "low": 1, "medium": 2, "high": 3}
# DOMAIN.md, "Naming the rupture and the repair": under 5 episodes a rate says more about chance than practice.
TOO_FEW_TO_COMPARE = 5


@dataclass(frozen=True)
class ActiveClient:
    """One active client as the clinic figures read it: the alliance without its sessions (summary and
    episodes), and the time and therapist of each of its sessions that count."""

    alliance: ClientAlliance
    sessions: tuple[tuple[datetime, str], ...] = ()


@dataclass(frozen=True)
class Window:
    """The days the alert rate looks back over, up to now (a session recorded with a future time is outside)."""

    since: datetime
    until: datetime

    @classmethod
    def last(cls, days: int, now: datetime) -> "Window":
        return cls(now - timedelta(days=days), now)

    def holds(self, moment: datetime) -> bool:
        return self.since <= moment <= self.until


@dataclass
class Figures:
    """One group's figures: the whole clinic, or one therapist's clients, sessions and episodes."""

    active_clients: int = 0
    with_open_episode: int = 0
    closed: int = 0
    repaired: list[int] = field(default_factory=list)  # sessions each repair took
    settled: int = 0
    by_hand: int = 0
    hours_to_acknowledge: list[float] = field(default_factory=list)
    client_sessions: int = 0  # in the window
    push_alerts: int = 0  # in the window, not from imported history
    alerts_from_history: int = 0  # in the window
    episodes: int = 0  # every episode of the active clients, open or closed
    recognised_by_both: int = 0

    def add(self, other: "Figures") -> None:
        """Count ``other``'s clients, sessions and episodes in these figures too."""
        self.active_clients += other.active_clients
        self.with_open_episode += other.with_open_episode
        self.closed += other.closed
        self.repaired += other.repaired
        self.settled += other.settled
        self.by_hand += other.by_hand
        self.hours_to_acknowledge += other.hours_to_acknowledge
        self.client_sessions += other.client_sessions
        self.push_alerts += other.push_alerts
        self.alerts_from_history += other.alerts_from_history
        self.episodes += other.episodes
        self.recognised_by_both += other.recognised_by_both

    @property
    def recognised_by_both_share(self) -> float | None:
        return self.recognised_by_both / self.episodes if self.episodes else None

    @property
    def open_share(self) -> float | None:
        return self.with_open_episode / self.active_clients if self.active_clients else None

    @property
    def repair_rate(self) -> float | None:
        return len(self.repaired) / self.closed if self.closed else None

    @property
    def settle_rate(self) -> float | None:
        return self.settled / self.closed if self.closed else None

    @property
    def median_sessions_to_repair(self) -> float | None:
        return statistics.median(self.repaired) if self.repaired else None

    @property
    def median_hours_to_acknowledge(self) -> float | None:
        return statistics.median(self.hours_to_acknowledge) if self.hours_to_acknowledge else None

    @property
    def alert_rate(self) -> float | None:
        """Push alerts per client-session in the window."""
        return self.push_alerts / self.client_sessions if self.client_sessions else None

    @property
    def within_budget(self) -> bool | None:
        rate = self.alert_rate
        return None if rate is None else rate <= PUSH_ALERT_BUDGET

    @property
    def guide(self) -> str:
        """The open-episode share against the one-in-ten guide of feedback systems in practice."""
        share = self.open_share
        if share is None:
            return "no active clients"
        if share > ONE_IN_TEN * 1.5:
            return "well above one in ten: thresholds may be too loose"
        if share < ONE_IN_TEN * 0.5:
            return "well below one in ten: thresholds may be too strict, or feedback is missing"
        return "around one in ten"

    @property
    def budget_note(self) -> str:
        """The alert rate against the budget, in plain words."""
        if self.within_budget is None:
            return "no sessions in the window"
        if self.within_budget:
            return "within the budget"
        return "above the budget: clinicians may stop reading alerts; review the clinic's thresholds"


@dataclass
class TagOutcomes:
    """The episodes named with one tag: how many, how many closed, and the sessions each repair took."""

    episodes: int = 0
    closed: int = 0
    repaired: list[int] = field(default_factory=list)

    def figures(self, tag: str, words: str) -> RepairFigures:
        comparable = self.closed >= TOO_FEW_TO_COMPARE
        return RepairFigures(
            tag=tag,
            words=words,
            episodes=self.episodes,
            closed_episodes=self.closed,
            repaired_count=len(self.repaired),
            repair_rate=len(self.repaired) / self.closed if comparable else None,
            median_sessions_to_repair=statistics.median(self.repaired)
            if comparable and self.repaired
            else None,
            comparable=comparable,
        )


@dataclass
class RepairsByTag:
    """The clinic's closed episodes per rupture type and per repair strategy named (3RS)."""

    by_type: dict[RuptureType, TagOutcomes] = field(default_factory=lambda: defaultdict(TagOutcomes))
    by_strategy: dict[RepairStrategy, TagOutcomes] = field(default_factory=lambda: defaultdict(TagOutcomes))

    def count(self, episode: EpisodeView) -> None:
        outcomes = [self.by_strategy[s] for s in episode.strategies]
        if episode.rupture_type is not None:
            outcomes.append(self.by_type[episode.rupture_type])
        resolution = episode.resolution
        for outcome in outcomes:
            outcome.episodes += 1
            if resolution is None:
                continue
            outcome.closed += 1
            if resolution.how == "repaired" and resolution.sessions_to_repair is not None:
                outcome.repaired.append(resolution.sessions_to_repair)

    def type_figures(self) -> list[RepairFigures]:
        """Every type, named or not yet, in the 3RS order: a clinic sees what it has not tagged too."""
        return [self.by_type.get(t, TagOutcomes()).figures(t.value, TYPE_WORDS[t]) for t in RuptureType]

    def strategy_figures(self) -> list[RepairFigures]:
        return [
            self.by_strategy.get(s, TagOutcomes()).figures(s.value, STRATEGY_WORDS[s]) for s in RepairStrategy
        ]


# Named tuples, not dataclasses: a large clinic lists thousands of open episodes, and tuples are made faster.
class Acknowledged(NamedTuple):
    acknowledged_by: str


class OpenEpisodeFacts(NamedTuple):
    """What the clinic view shows of an open episode (the names of ``EpisodeView``'s fields)."""

    rupture_id: str
    therapist_id: str
    opened_at: datetime
    severity: SeverityName
    stale: bool
    sessions_since_opening: int
    from_history: bool
    acknowledgement: Acknowledged | None

    @classmethod
    def of(cls, episode: EpisodeView) -> "OpenEpisodeFacts":
        acknowledgement = episode.acknowledgement
        return cls(
            episode.rupture_id,
            episode.therapist_id,
            episode.opened_at,
            episode.severity,
            episode.stale,
            episode.sessions_since_opening,
            episode.from_history,
            Acknowledged(acknowledgement.acknowledged_by) if acknowledgement else None,
        )


class OpenEpisode(NamedTuple):
    client_id: str
    episode: OpenEpisodeFacts
    days_open: int

    @property
    def rank(self) -> tuple[int, int, datetime, str]:
        """Stale first, then the most severe, then the longest open (then by client, so ties keep one order)."""
        e = self.episode
        return (-int(e.stale), -SEVERITY_RANK[e.severity], e.opened_at, self.client_id)


@dataclass
class ClinicFigures:
    clinic: Figures
    therapists: dict[str, Figures]
    open_episodes: list[OpenEpisode]
    clients_by_severity: dict[SeverityName, int]
    window_days: int
    repairs: RepairsByTag = field(default_factory=RepairsByTag)


def clinic_figures(active: Iterable[ActiveClient], now: datetime, window_days: int) -> ClinicFigures:
    """Clients count under the therapist of their latest session, sessions under their own therapist, episodes
    (and their alerts) under the therapist alerted: the one of the opening session."""
    window = Window.last(window_days, now)
    clinic = Figures()
    therapists: dict[str, Figures] = defaultdict(Figures)
    open_episodes: list[OpenEpisode] = []
    by_severity: dict[SeverityName, int] = {"none": 0, "low": 0, "medium": 0, "high": 0}
    repairs = RepairsByTag()
    for client in active:
        alliance = client.alliance
        mine = therapists[alliance.therapist_id or "unknown"]
        for figures in (clinic, mine):
            figures.active_clients += 1
            figures.with_open_episode += alliance.open_episode is not None
        for at, therapist_id in client.sessions:
            if window.holds(at):
                clinic.client_sessions += 1
                therapists[therapist_id].client_sessions += 1
        episodes = [*alliance.past_episodes, *([alliance.open_episode] if alliance.open_episode else [])]
        for episode in episodes:
            for figures in (clinic, therapists[episode.therapist_id]):
                _count_episode(figures, episode, window)
            repairs.count(episode)
        opened = alliance.open_episode
        by_severity[opened.severity if opened else "none"] += 1
        if opened is not None:
            open_episodes.append(
                OpenEpisode(
                    alliance.client_id, OpenEpisodeFacts.of(opened), max((now - opened.opened_at).days, 0)
                )
            )
    open_episodes.sort(key=lambda o: o.rank)
    return ClinicFigures(
        clinic, dict(sorted(therapists.items())), open_episodes, by_severity, window_days, repairs
    )


def _count_episode(figures: Figures, episode: EpisodeView, window: Window) -> None:
    figures.episodes += 1
    figures.recognised_by_both += episode.recognised_by == "both"
    resolution = episode.resolution
    if resolution is not None:
        figures.closed += 1
        if resolution.how == "repaired" and resolution.sessions_to_repair is not None:
            figures.repaired.append(resolution.sessions_to_repair)
        elif resolution.how == "settled":
            figures.settled += 1
        elif resolution.how == "manual":
            figures.by_hand += 1
    if episode.acknowledgement is not None:
        waited = episode.acknowledgement.acknowledged_at - episode.opened_at
        figures.hours_to_acknowledge.append(max(waited.total_seconds() / 3600, 0.0))
    in_window = sum(window.holds(alert.session_at) for alert in episode.alerts)
    if episode.from_history:
        figures.alerts_from_history += in_window
    else:
        figures.push_alerts += in_window


def clinic_summary(found: ClinicFigures, active_days: int) -> ClinicSummary:
    """The clinic's figures as ``GET /v1/clinic/summary`` answers them."""
    c = found.clinic
    return ClinicSummary(
        active_days=active_days,
        active_clients=c.active_clients,
        clients_with_open_episode=c.with_open_episode,
        open_episode_share=c.open_share,
        closed_episodes=c.closed,
        repaired_count=len(c.repaired),
        settled_count=c.settled,
        resolved_by_hand_count=c.by_hand,
        repair_rate=c.repair_rate,
        settle_rate=c.settle_rate,
        median_sessions_to_repair=c.median_sessions_to_repair,
        episodes=c.episodes,
        recognised_by_both_count=c.recognised_by_both,
        recognised_by_both_share=c.recognised_by_both_share,
        repair_by_rupture_type=found.repairs.type_figures(),
        repair_by_strategy=found.repairs.strategy_figures(),
        clients_by_severity=found.clients_by_severity,
        alert_window_days=found.window_days,
        client_sessions=c.client_sessions,
        push_alerts=c.push_alerts,
        alerts_from_history=c.alerts_from_history,
        push_alerts_per_client_session=c.alert_rate,
        push_alert_budget=PUSH_ALERT_BUDGET,
        within_budget=c.within_budget,
    )
