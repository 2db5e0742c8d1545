"""The one call an adapter needs: everything the domain concludes about a client from its facts and actions."""

from __future__ import annotations

from dataclasses import dataclass

from .actions import ClinicianActions
from .announcements import EmittedLog, owed_events
from .episodes import EpisodeTimeline, derive_episodes
from .events import DomainEvent
from .history import ClientHistory
from .marking import MarkedSession, mark_sessions
from .summary import ClientSummary, summarize
from .thresholds import Thresholds


@dataclass(frozen=True)
class ClientAssessment:
    history: ClientHistory
    sessions: tuple[MarkedSession, ...]
    timeline: EpisodeTimeline
    summary: ClientSummary

    def owed_events(self, emitted: EmittedLog) -> tuple[DomainEvent, ...]:
        return owed_events(self.timeline, emitted)


def assess_client(
    history: ClientHistory,
    thresholds: Thresholds | None = None,
    actions: ClinicianActions | None = None,
) -> ClientAssessment:
    """Markers per session, the episode timeline and the summary: a pure function of its three inputs
    (default thresholds and no clinician actions when omitted)."""
    thresholds = thresholds or Thresholds()
    sessions = mark_sessions(history.sessions, thresholds)
    timeline = derive_episodes(history.clinic_id, history.client_id, sessions, thresholds, actions)
    summary = summarize(history.clinic_id, history.client_id, sessions, timeline, thresholds)
    return ClientAssessment(history, sessions, timeline, summary)
