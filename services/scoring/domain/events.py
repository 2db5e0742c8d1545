"""Domain events the scoring service owes the world: a rupture is suspected (an alert), or it is resolved.

Each has a deterministic ``event_id`` derived from what it announces, so an outbox can dedupe on it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

from .actions import UNTAGGED, RepairTags
from .markers import Marker
from .recognition import Recognition
from .severity import Severity

_EVENTS_NAMESPACE = uuid.UUID("6f1d8a52-3c1e-5b7a-9d0e-2a4b6c8d0e1f")


class ResolutionHow(Enum):
    REPAIRED = "repaired"  # a later session came back to the client's usual (DOMAIN.md "Repair")
    MANUAL = "manual"  # a clinician closed it by hand, with a note
    SETTLED = "settled"  # the latest sessions carry no medium or high marker, but the usual is not back


@dataclass(frozen=True)
class RuptureSuspected:
    """An alert: the episode reached ``severity`` (from ``previous_severity``) at ``session_id``.

    ``markers`` are those of that session (empty for a stale escalation at a session without markers);
    ``srs_total`` its client SRS total and ``baseline`` the mean of the last ≤5 earlier totals.
    ``stale`` marks the escalation of an episode left open too long: it also goes to the supervisor.
    ``recognition``: who had reported the tension by that session (an acknowledgement comes after an alert).
    """

    clinic_id: str
    client_id: str
    episode_id: str
    session_id: str
    session_at: datetime
    therapist_id: str
    severity: Severity
    previous_severity: Severity
    markers: tuple[Marker, ...]
    srs_total: Decimal | None
    baseline: Decimal | None
    stale: bool
    recognition: Recognition = Recognition.NEITHER

    @property
    def event_id(self) -> str:
        kind = "stale" if self.stale else self.severity.value
        return _event_id(self.episode_id, f"suspected:{kind}")


@dataclass(frozen=True)
class RuptureResolved:
    """The episode closed, ``how``: repaired at ``session_id`` after ``sessions_to_repair`` sessions, or by hand
    (``note``, ``resolved_by``; no session and no count)."""

    clinic_id: str
    client_id: str
    episode_id: str
    how: ResolutionHow
    resolved_at: datetime
    session_id: str | None
    sessions_to_repair: int | None
    note: str | None
    resolved_by: str | None
    tags: RepairTags = UNTAGGED  # a manual resolution's naming of the rupture and its repair

    @property
    def event_id(self) -> str:
        return resolution_event_id(self.episode_id)


DomainEvent = RuptureSuspected | RuptureResolved


def resolution_event_id(episode_id: str) -> str:
    """An episode resolves once, however: its resolution's event id is known before it is derived."""
    return _event_id(episode_id, "resolved")


def _event_id(episode_id: str, what: str) -> str:
    return str(uuid.uuid5(_EVENTS_NAMESPACE, f"{episode_id}\x1f{what}"))
