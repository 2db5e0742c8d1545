"""The one call an adapter needs: everything the domain concludes about a client from its facts and actions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .actions import ClinicianActions, ManualResolution
from .announcements import Announcement, EmittedLog, announce, owed_events
from .episodes import EpisodeTimeline, derive_episodes
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
    its marked sessions are reused and only the rest is marked."""
    thresholds = thresholds or Thresholds()
    actions = actions or ClinicianActions()
    sessions, timeline = derive_episodes(
        history.clinic_id,
        history.client_id,
        history.sessions,
        thresholds,
        actions,
        marked_before=_reusable(history.sessions, thresholds, actions, previous),
    )
    summary = summarize(history.clinic_id, history.client_id, sessions, timeline, thresholds)
    return ClientAssessment(history, sessions, timeline, summary, thresholds, actions.resolutions)


def _reusable(
    sessions: Sequence[Session],
    thresholds: Thresholds,
    actions: ClinicianActions,
    previous: ClientAssessment | None,
) -> list[MarkedSession]:
    if previous is None or previous.resolutions != actions.resolutions:
        return []
    if previous.thresholds is not thresholds and previous.thresholds != thresholds:
        return []
    reused: list[MarkedSession] = []
    for before, session in zip(previous.sessions, sessions, strict=False):
        if before.session is not session and before.session != session:
            break
        reused.append(before)
    return reused
