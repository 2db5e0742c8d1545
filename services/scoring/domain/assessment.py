"""The one call an adapter needs: everything the domain concludes about a client from its facts and actions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .actions import ClinicianActions
from .announcements import EmittedLog, owed_events
from .episodes import EpisodeTimeline, derive_episodes
from .events import DomainEvent
from .history import ClientHistory, Session
from .marking import MarkedSession, mark_session
from .summary import ClientSummary, summarize
from .thresholds import Thresholds


@dataclass(frozen=True)
class ClientAssessment:
    history: ClientHistory
    sessions: tuple[MarkedSession, ...]
    timeline: EpisodeTimeline
    summary: ClientSummary
    # What the sessions were marked with, so a later assessment knows whether it may reuse them.
    thresholds: Thresholds = field(default_factory=Thresholds, compare=False, repr=False)

    def owed_events(self, emitted: EmittedLog) -> tuple[DomainEvent, ...]:
        return owed_events(self.timeline, emitted)


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
    sessions before it and the thresholds, so while the sessions are those of ``previous`` (same values, same
    order, same thresholds) its marked sessions are reused and only the rest is marked."""
    thresholds = thresholds or Thresholds()
    sessions = _marked(history.sessions, thresholds, previous)
    timeline = derive_episodes(history.clinic_id, history.client_id, sessions, thresholds, actions)
    summary = summarize(history.clinic_id, history.client_id, sessions, timeline, thresholds)
    return ClientAssessment(history, sessions, timeline, summary, thresholds)


def _marked(
    sessions: Sequence[Session], thresholds: Thresholds, previous: ClientAssessment | None
) -> tuple[MarkedSession, ...]:
    marked: list[MarkedSession] = []
    if previous is not None and (previous.thresholds is thresholds or previous.thresholds == thresholds):
        for before, session in zip(previous.sessions, sessions, strict=False):
            if before.session is not session and before.session != session:
                break
            marked.append(before)
    for session in sessions[len(marked) :]:
        marked.append(mark_session(session, marked, thresholds))
    return tuple(marked)
