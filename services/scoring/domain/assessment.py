"""The one call an adapter needs: everything the domain concludes about a client from its facts and actions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .actions import ClinicianActions, ManualResolution
from .announcements import Announcement, EmittedLog, announce, owed_events
from .episodes import EpisodeTimeline, WalkPoint, walk
from .events import DomainEvent
from .history import ClientHistory, Session
from .marking import MarkedSession
from .summary import ClientSummary, summarize
from .thresholds import Thresholds

# The version of the rules below. A stored client assessed under another version is taken over with
# ``announcements.adopted`` before its next change, so a change of rules alerts no one about the past.
# 2.1.1: version 2's reports and notes, and a report of no tension repairs only for a client without SRS.
RULES_VERSION = "2.1.1"


def rules_version(thresholds: Thresholds) -> str:
    """The rules a client is judged by: ``RULES_VERSION`` and, once the clinic has fitted trajectories, their
    versions, so a refit is taken over like a change of rules and alerts no one about sessions already judged."""
    if thresholds.trajectories is None or not thresholds.trajectories.versions:
        return RULES_VERSION
    return f"{RULES_VERSION}+{thresholds.trajectories.versions}"


@dataclass(frozen=True)
class ClientAssessment:
    history: ClientHistory
    sessions: tuple[MarkedSession, ...]
    timeline: EpisodeTimeline
    summary: ClientSummary
    # What the sessions were marked with, so a later assessment knows whether it may reuse them.
    thresholds: Thresholds = field(default_factory=Thresholds, compare=False, repr=False)
    resolutions: frozenset[ManualResolution] = field(default=frozenset(), compare=False, repr=False)
    # Where the walk over the sessions stood at its last few positions, so a later assessment walks on.
    walked: tuple[WalkPoint, ...] = field(default=(), compare=False, repr=False)

    def owed_events(self, emitted: EmittedLog) -> tuple[DomainEvent, ...]:
        return owed_events(self.timeline, emitted)

    def announce(self, emitted: EmittedLog, announced_at: datetime) -> Announcement:
        """What is owed, announced at ``announced_at`` against these thresholds' push horizon."""
        return announce(self.timeline, emitted, announced_at, self.thresholds.push_horizon_days)


def assess_client(
    history: ClientHistory,
    thresholds: Thresholds | None = None,
    actions: ClinicianActions | None = None,
    *,
    previous: ClientAssessment | None = None,
) -> ClientAssessment:
    """Markers per session, the episode timeline and the summary: a pure function of its three inputs
    (default thresholds and no clinician actions when omitted).

    ``previous``, any earlier assessment of the client, only saves work: a session is judged from itself, the
    sessions before it, the thresholds and the manual resolutions (which decide what is inside an episode), so
    while the sessions are those of ``previous`` (same values, same order, same thresholds and resolutions)
    its marked sessions are reused and only the rest is marked. Where it still has a point of its walk
    over sessions that are unchanged (``KEPT_POINTS``: a new session or a change to one of the latest), the
    walk goes on from there instead of from the first session."""
    thresholds = thresholds or Thresholds()
    actions = actions or ClinicianActions()
    sessions = history.sessions
    reusable = previous if _comparable(thresholds, actions, previous) else None
    start = _walked_up_to(sessions, reusable) if reusable is not None else None
    walked = walk(
        history.clinic_id,
        history.client_id,
        sessions,
        thresholds,
        actions,
        marked_before=_reusable(sessions, reusable, start),
        start=start,
        points_before=reusable.walked if reusable is not None else (),
    )
    summary = summarize(
        history.clinic_id, history.client_id, walked.marked, walked.timeline, thresholds, walked.srs_count
    )
    return ClientAssessment(
        history, walked.marked, walked.timeline, summary, thresholds, actions.resolutions, walked.points
    )


def _comparable(thresholds: Thresholds, actions: ClinicianActions, previous: ClientAssessment | None) -> bool:
    """Whether ``previous`` judged its sessions as these thresholds and manual resolutions would."""
    if previous is None or previous.resolutions != actions.resolutions:
        return False
    return previous.thresholds is thresholds or previous.thresholds == thresholds


def _walked_up_to(sessions: tuple[Session, ...], previous: ClientAssessment) -> WalkPoint | None:
    """The latest kept point of ``previous``'s walk whose sessions are still the first ones of ``sessions``.
    The sessions of an unchanged prefix are the very same objects (``ClientHistory.with_fact``), so comparing
    the two prefixes is a comparison of references."""
    before = previous.history.sessions
    for point in reversed(previous.walked):
        if point.position <= len(sessions) and sessions[: point.position] == before[: point.position]:
            return point
    return None


def _reusable(
    sessions: Sequence[Session], previous: ClientAssessment | None, start: WalkPoint | None
) -> Sequence[MarkedSession]:
    """The marks of ``previous`` that still hold: those of the sessions up to ``start``, or else of as many
    first sessions as are unchanged."""
    if previous is None:
        return ()
    if start is not None:
        return previous.sessions[: start.position]
    reused: list[MarkedSession] = []
    for before, session in zip(previous.sessions, sessions, strict=False):
        if before.session is not session and before.session != session:
            break
        reused.append(before)
    return reused
