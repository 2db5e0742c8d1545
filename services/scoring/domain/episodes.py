"""Rupture episodes, derived as a pure function of (marked sessions, thresholds, clinician actions).

The whole timeline is recomputed from the sessions in session order, so a late event that inserts an earlier
session yields the timeline as if events had arrived in order. Walking the sessions:

1. Manual resolutions dated before a session's time close the open episode they name (if it is the open one;
   otherwise they are ignored) before that session is judged.
2. With no open episode, a session with any marker opens one. Its id is a uuid5 of clinic, client and the
   opening event id: the earliest-recorded fact of the opening session among those its first marker rests on
   (client SRS for score/change/perspective markers, client ORS for outcome, the attendance record for
   behaviour; any fact of the session otherwise). A corrected rating therefore keeps the episode's id.
3. With an open episode, each further session that ``counts`` adds one to ``sessions_since_opening``. A session
   repairs the episode when it has a client SRS total ≥ cutoff and ≥ mean(every client SRS total before the
   opening session) − repair margin (no earlier total: the cutoff alone) and no marker. ``sessions_to_repair`` is
   ``sessions_since_opening`` at that session: the sessions after the opening one up to and including the
   repairing one (a V-episode repaired at the very next session took 1).
4. Otherwise its markers join and the severity becomes the higher of the two (it never falls). When
   ``stale_after_sessions`` sessions have passed since opening without repair, the episode turns stale: high.
5. Alerts (``RuptureSuspected``): when the severity first reaches the alert threshold (also at opening), and at
   each higher level after; one stale alert (``stale=True``, severity high) when the episode turns stale, which
   goes to the supervisor even if a high alert was already sent. ``RuptureResolved`` for every resolution.

The timeline lists every event the history implies; which of them are still owed is ``announcements``' job.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from shared.instruments import Instrument, Respondent

from .actions import Acknowledgement, ClinicianActions, ManualResolution
from .baseline import mean, shown
from .events import DomainEvent, ResolutionHow, RuptureResolved, RuptureSuspected
from .facts import AttendanceRecorded, Fact, FeedbackRecorded
from .markers import ALLIANCE_FAMILIES, Marker, MarkerFamily
from .marking import MarkedSession
from .severity import Severity
from .thresholds import Thresholds

_EPISODES_NAMESPACE = uuid.UUID("3b0f6e0c-5a0e-5f5e-8c43-7f2d1e9a6b21")


@functools.lru_cache(maxsize=4096)  # pure; every re-assessment of a client derives the same ids again
def rupture_episode_id(clinic_id: str, client_id: str, opening_event_id: str) -> str:
    """Deterministic: the same opening event can never make a second episode."""
    return str(uuid.uuid5(_EPISODES_NAMESPACE, "\x1f".join((clinic_id, client_id, opening_event_id))))


@dataclass(frozen=True)
class RuptureEpisode:
    episode_id: str
    opened_by_event_id: str
    opening_session_id: str
    opened_at: datetime
    severity: Severity
    stale: bool
    session_ids: tuple[str, ...]  # the sessions whose markers joined, opening session first
    markers: tuple[Marker, ...]
    pre_episode_mean: Decimal | None
    sessions_since_opening: int
    resolution: RuptureResolved | None
    acknowledgement: Acknowledgement | None

    @property
    def is_open(self) -> bool:
        return self.resolution is None


@dataclass(frozen=True)
class EpisodeTimeline:
    episodes: tuple[RuptureEpisode, ...]
    events: tuple[DomainEvent, ...]

    @property
    def open_episode(self) -> RuptureEpisode | None:
        return next((episode for episode in self.episodes if episode.is_open), None)

    def episode(self, episode_id: str) -> RuptureEpisode | None:
        return next((episode for episode in self.episodes if episode.episode_id == episode_id), None)


def derive_episodes(
    clinic_id: str,
    client_id: str,
    sessions: Sequence[MarkedSession],
    thresholds: Thresholds,
    actions: ClinicianActions | None = None,
) -> EpisodeTimeline:
    """The episode timeline implied by the marked sessions (in session order) and the clinicians' actions."""
    actions = actions or ClinicianActions()
    builder = _TimelineBuilder(clinic_id, client_id, thresholds)
    pending = sorted(actions.resolutions, key=lambda r: (r.resolved_at, r.episode_id, r.resolved_by, r.note))
    totals_before: list[Decimal] = []
    for marked in sessions:
        while pending and pending[0].resolved_at < marked.session.occurred_at:
            builder.resolve_by_hand(pending.pop(0))
        builder.observe(marked, totals_before)
        if marked.srs_total is not None:
            totals_before.append(marked.srs_total)
    for resolution in pending:
        builder.resolve_by_hand(resolution)
    return builder.timeline(actions.acknowledgements)


@dataclass
class _Draft:
    """An episode while the timeline is being walked (mutable only inside ``derive_episodes``)."""

    episode_id: str
    opened_by_event_id: str
    opening: MarkedSession
    pre_episode_mean: Fraction | None
    severity: Severity
    session_ids: list[str]
    markers: list[Marker]
    sessions_since_opening: int = 0
    stale: bool = False
    resolution: RuptureResolved | None = None


@dataclass
class _TimelineBuilder:
    clinic_id: str
    client_id: str
    thresholds: Thresholds
    drafts: list[_Draft] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)

    @property
    def open(self) -> _Draft | None:
        last = self.drafts[-1] if self.drafts else None
        return last if last is not None and last.resolution is None else None

    def observe(self, marked: MarkedSession, totals_before: Sequence[Decimal]) -> None:
        episode = self.open
        if episode is None:
            if marked.markers:
                self._open(marked, totals_before)
            return
        if marked.session.counts:
            episode.sessions_since_opening += 1
        if self._repairs(episode, marked):
            self._close(episode, self._repaired(episode, marked))
            return
        if marked.markers:
            episode.session_ids.append(marked.session_id)
            episode.markers.extend(marked.markers)
        previous = episode.severity
        turns_stale = (
            not episode.stale and episode.sessions_since_opening >= self.thresholds.stale_after_sessions
        )
        episode.stale = episode.stale or turns_stale
        episode.severity = Severity.HIGH if turns_stale else max(previous, marked.severity)
        if turns_stale or (
            episode.severity > previous and episode.severity >= self.thresholds.alert_threshold
        ):
            self._alert(episode, marked, previous, stale=turns_stale)

    def resolve_by_hand(self, resolution: ManualResolution) -> None:
        episode = self.open
        if episode is None or episode.episode_id != resolution.episode_id:
            return  # not the open episode (any more): nothing to close
        resolved = RuptureResolved(
            clinic_id=self.clinic_id,
            client_id=self.client_id,
            episode_id=episode.episode_id,
            how=ResolutionHow.MANUAL,
            resolved_at=resolution.resolved_at,
            session_id=None,
            sessions_to_repair=None,
            note=resolution.note,
            resolved_by=resolution.resolved_by,
        )
        self._close(episode, resolved)

    def timeline(self, acknowledgements: frozenset[Acknowledgement]) -> EpisodeTimeline:
        earliest: dict[str, Acknowledgement] = {}
        for ack in sorted(acknowledgements, key=lambda a: (a.acknowledged_at, a.acknowledged_by)):
            earliest.setdefault(ack.episode_id, ack)
        episodes = tuple(
            RuptureEpisode(
                episode_id=draft.episode_id,
                opened_by_event_id=draft.opened_by_event_id,
                opening_session_id=draft.opening.session_id,
                opened_at=draft.opening.session.occurred_at,
                severity=draft.severity,
                stale=draft.stale,
                session_ids=tuple(draft.session_ids),
                markers=tuple(draft.markers),
                pre_episode_mean=shown(draft.pre_episode_mean)
                if draft.pre_episode_mean is not None
                else None,
                sessions_since_opening=draft.sessions_since_opening,
                resolution=draft.resolution,
                acknowledgement=earliest.get(draft.episode_id),
            )
            for draft in self.drafts
        )
        return EpisodeTimeline(episodes, tuple(self.events))

    def _open(self, marked: MarkedSession, totals_before: Sequence[Decimal]) -> None:
        opening_event_id = _opening_event_id(marked)
        episode = _Draft(
            episode_id=rupture_episode_id(self.clinic_id, self.client_id, opening_event_id),
            opened_by_event_id=opening_event_id,
            opening=marked,
            pre_episode_mean=mean(totals_before) if totals_before else None,
            severity=marked.severity,
            session_ids=[marked.session_id],
            markers=list(marked.markers),
        )
        self.drafts.append(episode)
        if episode.severity >= self.thresholds.alert_threshold:
            self._alert(episode, marked, Severity.NONE, stale=False)

    def _repairs(self, episode: _Draft, marked: MarkedSession) -> bool:
        total = marked.srs_total
        if total is None or marked.markers or not marked.session.counts or total < self.thresholds.srs_cutoff:
            return False
        floor = episode.pre_episode_mean
        return floor is None or Fraction(total) >= floor - Fraction(self.thresholds.repair_margin)

    def _alert(self, episode: _Draft, marked: MarkedSession, previous: Severity, *, stale: bool) -> None:
        self.events.append(
            RuptureSuspected(
                clinic_id=self.clinic_id,
                client_id=self.client_id,
                episode_id=episode.episode_id,
                session_id=marked.session_id,
                session_at=marked.session.occurred_at,
                therapist_id=marked.session.therapist_id,
                severity=episode.severity,
                previous_severity=previous,
                markers=marked.markers,
                srs_total=marked.srs_total,
                baseline=marked.baseline,
                stale=stale,
            )
        )

    def _repaired(self, episode: _Draft, marked: MarkedSession) -> RuptureResolved:
        return RuptureResolved(
            clinic_id=self.clinic_id,
            client_id=self.client_id,
            episode_id=episode.episode_id,
            how=ResolutionHow.REPAIRED,
            resolved_at=marked.session.occurred_at,
            session_id=marked.session_id,
            sessions_to_repair=episode.sessions_since_opening,
            note=None,
            resolved_by=None,
        )

    def _close(self, episode: _Draft, resolution: RuptureResolved) -> None:
        episode.resolution = resolution
        self.events.append(resolution)


def _opening_event_id(marked: MarkedSession) -> str:
    family = marked.markers[0].family
    facts = marked.session.facts  # in recording order
    relevant = [fact for fact in facts if _rests_on(family, fact)]
    return (relevant or list(facts))[0].event_id


def _rests_on(family: MarkerFamily, fact: Fact) -> bool:
    if family in ALLIANCE_FAMILIES or family is MarkerFamily.OUTCOME:
        instrument = Instrument.ORS if family is MarkerFamily.OUTCOME else Instrument.SRS
        return (
            isinstance(fact, FeedbackRecorded)
            and fact.instrument is instrument
            and fact.respondent is Respondent.CLIENT
        )
    return isinstance(fact, AttendanceRecorded)
