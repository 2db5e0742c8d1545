"""Rupture episodes, derived with the markers in one walk over a client's sessions in session order.

Marking and episodes are one walk because each needs the other (version 2.1): a session is judged against the
client's usual, which leaves out the sessions inside an episode (``usual``), and the episodes are made of the
sessions' markers. Recomputed from the sessions every time, so a late event that inserts an earlier session
yields the timeline as if events had arrived in order. Walking the sessions:

1. Manual resolutions dated before a session's time close the open episode they name (if it is the open one;
   otherwise they are ignored) before that session is judged.
2. The session is marked against the sessions before it and the usual: the one from before the open episode
   opened, if one is open, else the current one.
3. With no open episode, a session with any marker opens one. Its id is a uuid5 of clinic, client and the
   opening event id: the earliest-recorded fact of the opening session among those its first marker rests on
   (client SRS for score/change/perspective markers, client ORS for outcome, the attendance record for
   behaviour; any fact of the session otherwise). A corrected rating therefore keeps the episode's id.
4. With an open episode, each further session that ``counts`` adds one to ``sessions_since_opening``. A session
   repairs the episode when it has a client SRS total ≥ cutoff and ≥ the usual from before the episode (its
   mean) − repair margin (no earlier total: the cutoff alone) and no marker. ``sessions_to_repair`` is
   ``sessions_since_opening`` at that session: the sessions after the opening one up to and including the
   repairing one (a V-episode repaired at the very next session took 1). A session without a client SRS
   repairs an episode the client's rupture report opened when it has no marker and the client's report says
   no tension, for a client who has never given an SRS (a clinic that does not use SRS).
5. Otherwise its markers join and the severity becomes the higher of the two (it never falls). The episode
   settles (rule 3) when this session has a client SRS and the episode's latest ``settle_after_calm`` sessions
   with a client SRS carry no medium or high marker: the strain has passed without the client coming back to
   their usual, which is not a repair and is counted apart. Else, when ``stale_after_sessions`` sessions have
   passed since opening and this session still carries a medium or high marker (rule 4), the episode turns
   stale: high.
6. Alerts (``RuptureSuspected``): when the severity first reaches the alert threshold (also at opening), and at
   each higher level after; one stale alert (``stale=True``, severity high) when the episode turns stale, which
   goes to the supervisor even if a high alert was already sent. ``RuptureResolved`` for every resolution.

The timeline lists every event the history implies; which of them are still owed is ``announcements``' job.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from shared.instruments import Instrument, Respondent

from .actions import UNTAGGED, Acknowledgement, ClinicianActions, ManualResolution, RepairTags
from .baseline import shown
from .events import DomainEvent, ResolutionHow, RuptureResolved, RuptureSuspected
from .facts import AttendanceRecorded, Fact, FeedbackRecorded, NoteAnswered
from .history import Session
from .markers import ALLIANCE_FAMILIES, Marker, MarkerCode, MarkerFamily
from .marking import MarkedSession, mark_session
from .recognition import Recognition
from .severity import Severity
from .thresholds import Thresholds
from .usual import Usual

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
    client_reported: bool = False  # a reported_rupture among its markers
    therapist_reported: bool = False  # the therapist's report of tension in one of its sessions

    @property
    def is_open(self) -> bool:
        return self.resolution is None

    @property
    def tags(self) -> RepairTags:
        """How the clinicians named the rupture and its repair: the acknowledgement's tags, then the manual
        resolution's (its type, when it names one, is the later word; the strategies of both count)."""
        acknowledged = self.acknowledgement.tags if self.acknowledgement else UNTAGGED
        return acknowledged.then(self.resolution.tags if self.resolution else UNTAGGED)

    @property
    def recognition(self) -> Recognition:
        return Recognition.of(
            self.client_reported, self.therapist_reported or self.acknowledgement is not None
        )


@dataclass(frozen=True)
class EpisodeTimeline:
    episodes: tuple[RuptureEpisode, ...]
    events: tuple[DomainEvent, ...]

    @property
    def open_episode(self) -> RuptureEpisode | None:
        return next((episode for episode in self.episodes if episode.is_open), None)

    def episode(self, episode_id: str) -> RuptureEpisode | None:
        return next((episode for episode in self.episodes if episode.episode_id == episode_id), None)


# How many of the latest positions of a walk are kept to walk on from: a new session usually comes last, a
# second rating of the latest session (the therapist's, a resent one) changes the last, and a late one the
# last few; anything earlier is walked again from the start.
KEPT_POINTS = 4


@dataclass(frozen=True)
class WalkPoint:
    """Where a walk stood once it had judged the first ``position`` sessions (the manual resolutions dated
    before the next session not yet applied): enough to walk on from there over the same first sessions."""

    position: int
    drafts: tuple[_Draft, ...]  # every one closed but perhaps the last, which is this point's own copy
    events: tuple[DomainEvent, ...]
    usual: Usual
    rates_with_srs: bool
    srs_count: int


@dataclass(frozen=True)
class Walk:
    marked: tuple[MarkedSession, ...]
    timeline: EpisodeTimeline
    points: tuple[WalkPoint, ...]  # the latest positions, ascending
    srs_count: int  # how many of the sessions have a client SRS


def walk(
    clinic_id: str,
    client_id: str,
    sessions: Sequence[Session],
    thresholds: Thresholds,
    actions: ClinicianActions | None = None,
    *,
    marked_before: Sequence[MarkedSession] = (),
    start: WalkPoint | None = None,
    points_before: Sequence[WalkPoint] = (),
) -> Walk:
    """The sessions marked and the episode timeline they imply, with the clinicians' actions, and the points of
    the walk's last ``KEPT_POINTS`` positions. ``marked_before``: marks of a prefix of ``sessions`` from an
    earlier walk with the same thresholds and the same manual resolutions; a session's marks depend only on what
    came before it, so they are reused. ``start``: a point of an
    earlier walk over the same first ``start.position`` sessions, whose marks are the first ones of
    ``marked_before``, with the same thresholds and manual resolutions: the walk goes on from there, so a
    session added after the others costs the same however long the history. ``points_before``: that walk's
    points up to ``start``, kept where they still fall among the latest."""
    actions = actions or ClinicianActions()
    pending = sorted(actions.resolutions, key=lambda r: (r.resolved_at, r.episode_id, r.resolved_by, r.note))
    if start is None:
        builder, first = _TimelineBuilder(clinic_id, client_id, thresholds), 0
    else:
        builder, first = _TimelineBuilder.resumed(clinic_id, client_id, thresholds, start), start.position
        if first:  # those dated before a session already walked were applied before that session
            latest = sessions[first - 1].occurred_at
            pending = [resolution for resolution in pending if not resolution.resolved_at < latest]
    kept_from = max(0, len(sessions) - KEPT_POINTS)
    points = [point for point in points_before if kept_from <= point.position < first]
    marked = list(marked_before[:first])
    if first >= kept_from:
        points.append(start if start is not None else builder.point(first))
    for position in range(first, len(sessions)):
        session = sessions[position]
        while pending and pending[0].resolved_at < session.occurred_at:
            builder.resolve_by_hand(pending.pop(0))
        if position < len(marked_before):
            this = marked_before[position]
        else:
            this = mark_session(session, marked, thresholds, builder.usual_for_marking)
        marked.append(this)
        builder.observe(this)
        if position + 1 >= kept_from:
            points.append(builder.point(position + 1))
    for resolution in pending:
        builder.resolve_by_hand(resolution)
    timeline = builder.timeline(actions.acknowledgements)
    return Walk(tuple(marked), timeline, tuple(points), builder.srs_count)


@dataclass
class _Draft:
    """An episode while the timeline is being walked (mutable only inside ``walk``)."""

    episode_id: str
    opened_by_event_id: str
    opening: MarkedSession
    usual_before: Usual  # the usual when it opened: what its sessions are judged against, and repair
    frozen: bool  # whether its sessions stay out of the usual (a baseline was established when it opened)
    severity: Severity
    session_ids: list[str]
    markers: list[Marker]
    calm_run: int = 0  # the latest sessions with a client SRS in a row without a medium or high marker
    sessions_since_opening: int = 0
    stale: bool = False
    resolution: RuptureResolved | None = None
    therapist_reported: bool = False
    # A closed draft never changes again, so the episode it makes (with its acknowledgement) is kept.
    made: tuple[Acknowledgement | None, RuptureEpisode] | None = None

    @property
    def client_reported(self) -> bool:
        return any(marker.code is MarkerCode.REPORTED_RUPTURE for marker in self.markers)

    def copy(self) -> _Draft:
        """A copy to go on walking with, leaving this one as it was."""
        return dataclasses.replace(self, session_ids=list(self.session_ids), markers=list(self.markers))

    def episode(self, acknowledgement: Acknowledgement | None) -> RuptureEpisode:
        if self.made is not None and self.made[0] == acknowledgement:
            return self.made[1]
        episode = RuptureEpisode(
            episode_id=self.episode_id,
            opened_by_event_id=self.opened_by_event_id,
            opening_session_id=self.opening.session_id,
            opened_at=self.opening.session.occurred_at,
            severity=self.severity,
            stale=self.stale,
            session_ids=tuple(self.session_ids),
            markers=tuple(self.markers),
            pre_episode_mean=shown(usual) if (usual := self.usual_before.mean) is not None else None,
            sessions_since_opening=self.sessions_since_opening,
            resolution=self.resolution,
            acknowledgement=acknowledgement,
            client_reported=self.client_reported,
            therapist_reported=self.therapist_reported,
        )
        if self.resolution is not None:
            self.made = (acknowledgement, episode)
        return episode

    def note_reports(self, marked: MarkedSession) -> None:
        report = marked.session.therapist_psq
        self.therapist_reported = self.therapist_reported or (
            report is not None and report.get("tension") == 1
        )


@dataclass
class _TimelineBuilder:
    clinic_id: str
    client_id: str
    thresholds: Thresholds
    drafts: list[_Draft] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)
    usual: Usual = field(default_factory=Usual)
    rates_with_srs: bool = False  # the client has given an SRS: the SRS rule repairs their episodes
    srs_count: int = 0  # the sessions observed with a client SRS

    @classmethod
    def resumed(
        cls, clinic_id: str, client_id: str, thresholds: Thresholds, point: WalkPoint
    ) -> _TimelineBuilder:
        builder = cls(clinic_id, client_id, thresholds, list(point.drafts), list(point.events), point.usual)
        builder.rates_with_srs, builder.srs_count = point.rates_with_srs, point.srs_count
        if builder.open is not None:  # the point keeps its own copy as it was
            builder.drafts[-1] = builder.drafts[-1].copy()
        return builder

    def point(self, position: int) -> WalkPoint:
        drafts = tuple(self.drafts)
        if self.open is not None:  # the only draft still to change
            drafts = (*drafts[:-1], drafts[-1].copy())
        return WalkPoint(
            position, drafts, tuple(self.events), self.usual, self.rates_with_srs, self.srs_count
        )

    @property
    def open(self) -> _Draft | None:
        last = self.drafts[-1] if self.drafts else None
        return last if last is not None and last.resolution is None else None

    @property
    def usual_for_marking(self) -> Usual:
        """Rule 1: inside an episode, the usual from before it opened."""
        episode = self.open
        return episode.usual_before if episode is not None and episode.frozen else self.usual

    def observe(self, marked: MarkedSession) -> None:
        self.rates_with_srs = self.rates_with_srs or marked.srs_total is not None
        self.srs_count += int(marked.srs_total is not None)
        self._observe_episodes(marked)
        episode = self.open
        inside = episode is not None and episode.frozen
        if marked.srs_total is not None and not inside and not marked.has_drop:
            self.usual = self.usual.with_total(marked.srs_total, self.thresholds)

    def _observe_episodes(self, marked: MarkedSession) -> None:
        episode = self.open
        if episode is None:
            if marked.markers:
                self._open(marked)
            return
        if marked.session.counts:
            episode.sessions_since_opening += 1
        episode.note_reports(marked)
        if self._repairs(episode, marked):
            self._close(episode, self._resolved(episode, marked, ResolutionHow.REPAIRED))
            return
        if marked.markers:
            episode.session_ids.append(marked.session_id)
            episode.markers.extend(marked.markers)
        previous = episode.severity
        if marked.srs_total is not None:
            episode.calm_run = episode.calm_run + 1 if marked.is_calm else 0
            if episode.calm_run >= self.thresholds.settle_after_calm:
                self._close(episode, self._resolved(episode, marked, ResolutionHow.SETTLED))
                return
        turns_stale = (
            not episode.stale
            and episode.sessions_since_opening >= self.thresholds.stale_after_sessions
            and not marked.is_calm
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
            tags=resolution.tags,
        )
        self._close(episode, resolved)

    def timeline(self, acknowledgements: frozenset[Acknowledgement]) -> EpisodeTimeline:
        earliest: dict[str, Acknowledgement] = {}
        for ack in sorted(acknowledgements, key=lambda a: (a.acknowledged_at, a.acknowledged_by)):
            earliest.setdefault(ack.episode_id, ack)
        episodes = tuple(draft.episode(earliest.get(draft.episode_id)) for draft in self.drafts)
        return EpisodeTimeline(episodes, tuple(self.events))

    def _open(self, marked: MarkedSession) -> None:
        opening_event_id = _opening_event_id(marked)
        episode = _Draft(
            episode_id=rupture_episode_id(self.clinic_id, self.client_id, opening_event_id),
            opened_by_event_id=opening_event_id,
            opening=marked,
            usual_before=self.usual,
            frozen=self.usual.is_established(self.thresholds),
            severity=marked.severity,
            session_ids=[marked.session_id],
            markers=list(marked.markers),
            calm_run=1 if marked.srs_total is not None and marked.is_calm else 0,
        )
        episode.note_reports(marked)
        self.drafts.append(episode)
        if episode.severity >= self.thresholds.alert_threshold:
            self._alert(episode, marked, Severity.NONE, stale=False)

    def _repairs(self, episode: _Draft, marked: MarkedSession) -> bool:
        total = marked.srs_total
        if marked.markers or not marked.session.counts:
            return False
        if total is None:
            # Only where SRS is not used does a report of no tension repair an episode the client reported: for
            # a client who rates with SRS, this session's SRS may be still to come (the report can arrive first)
            # and it decides, and a repair announced now could not be taken back when it does not hold.
            if self.rates_with_srs:
                return False
            report = marked.session.client_psq
            opened_by_report = any(m.code is MarkerCode.REPORTED_RUPTURE for m in episode.opening.markers)
            return opened_by_report and report is not None and report.get("tension") == 0
        if total < self.thresholds.srs_cutoff:
            return False
        floor = episode.usual_before.mean
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
                recognition=Recognition.of(episode.client_reported, episode.therapist_reported),
            )
        )

    def _resolved(self, episode: _Draft, marked: MarkedSession, how: ResolutionHow) -> RuptureResolved:
        """Closed by ``marked``: repaired (with the sessions the repair took) or settled."""
        return RuptureResolved(
            clinic_id=self.clinic_id,
            client_id=self.client_id,
            episode_id=episode.episode_id,
            how=how,
            resolved_at=marked.session.occurred_at,
            session_id=marked.session_id,
            sessions_to_repair=episode.sessions_since_opening if how is ResolutionHow.REPAIRED else None,
            note=None,
            resolved_by=None,
        )

    def _close(self, episode: _Draft, resolution: RuptureResolved) -> None:
        episode.resolution = resolution
        self.events.append(resolution)


def _opening_event_id(marked: MarkedSession) -> str:
    first = marked.markers[0]
    facts = marked.session.facts  # in recording order
    relevant = [fact for fact in facts if _rests_on(first, fact)]
    return (relevant or list(facts))[0].event_id


def _rests_on(marker: Marker, fact: Fact) -> bool:
    """Whether ``fact`` is one of those ``marker``'s rule read."""
    if marker.code in _READS_REPORTS:
        respondent = _READS_REPORTS[marker.code]
        return (
            isinstance(fact, FeedbackRecorded)
            and fact.instrument is Instrument.PSQ
            and (respondent is None or fact.respondent is respondent)
        )
    family = marker.family
    if family is MarkerFamily.AGREEMENT:
        return isinstance(fact, NoteAnswered)
    if family in ALLIANCE_FAMILIES or family is MarkerFamily.OUTCOME:
        instrument = Instrument.ORS if family is MarkerFamily.OUTCOME else Instrument.SRS
        return (
            isinstance(fact, FeedbackRecorded)
            and fact.instrument is instrument
            and fact.respondent is Respondent.CLIENT
        )
    return isinstance(fact, AttendanceRecorded)


# The markers read from rupture reports, and whose report (None: either side's).
_READS_REPORTS: dict[MarkerCode, Respondent | None] = {
    MarkerCode.REPORTED_RUPTURE: Respondent.CLIENT,
    MarkerCode.UNRECOGNISED_RUPTURE: None,
    MarkerCode.THERAPIST_REPORTED_RUPTURE: Respondent.THERAPIST,
}
