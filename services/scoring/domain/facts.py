"""The facts a client's history is made of: one per inbound event, each with its unique event id.

They are the domain's reading of ``session.completed``, ``feedback.submitted`` and (version 2) ``note.shared``,
``note.answered``, ``goals.agreed`` and ``goal.closed``; an adapter maps the wire events onto them (the client's
free-text comment, the note's text and the goals' words are deliberately absent: the rules never need them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from shared.instruments import Instrument, Respondent, Scores

from .errors import InvalidFact


class Attendance(Enum):
    ATTENDED = "attended"
    LATE = "late"
    NO_SHOW = "no_show"
    LATE_CANCEL = "late_cancel"
    CANCELLED = "cancelled"

    @property
    def took_place(self) -> bool:
        return self in (Attendance.ATTENDED, Attendance.LATE)

    @property
    def is_absence(self) -> bool:
        """The client's own absence, which the attendance marker counts."""
        return self in (Attendance.NO_SHOW, Attendance.LATE_CANCEL)


@dataclass(frozen=True)
class AttendanceRecorded:
    """A session took place or was missed (``session.completed``). ``recorded_at`` is when the fact was
    recorded (the event's time); of two records for one session the later one wins."""

    event_id: str
    clinic_id: str
    client_id: str
    session_id: str
    therapist_id: str
    occurred_at: datetime
    attendance: Attendance
    recorded_at: datetime

    def __post_init__(self) -> None:
        _check(self, {"occurred_at": self.occurred_at, "recorded_at": self.recorded_at})

    @property
    def session_at(self) -> datetime:
        return self.occurred_at


@dataclass(frozen=True)
class FeedbackRecorded:
    """One instrument filled in by one respondent for one session (``feedback.submitted``)."""

    event_id: str
    clinic_id: str
    client_id: str
    session_id: str
    therapist_id: str
    session_at: datetime
    respondent: Respondent
    scores: Scores
    submitted_at: datetime

    def __post_init__(self) -> None:
        _check(self, {"session_at": self.session_at, "submitted_at": self.submitted_at})

    @property
    def instrument(self) -> Instrument:
        return self.scores.instrument

    @property
    def recorded_at(self) -> datetime:
        return self.submitted_at


class NoteFit(Enum):
    """The client's answer to a shared note: do the next steps fit what they want from therapy?"""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"


@dataclass(frozen=True)
class SessionFact:
    """What the version 2 facts about a session have in common: which event, and whose session."""

    event_id: str
    clinic_id: str
    client_id: str
    session_id: str
    therapist_id: str
    session_at: datetime


@dataclass(frozen=True)
class NoteFact(SessionFact):
    """What the two facts about a shared note have in common: whose session, and which note."""

    note_id: str


@dataclass(frozen=True)
class NoteShared(NoteFact):
    """The therapist shared a note about a session with the client (``note.shared``)."""

    shared_at: datetime

    def __post_init__(self) -> None:
        _check(self, {"session_at": self.session_at, "shared_at": self.shared_at})

    @property
    def recorded_at(self) -> datetime:
        return self.shared_at


@dataclass(frozen=True)
class NoteAnswered(NoteFact):
    """The client answered a shared note (``note.answered``); of two answers to one note the later one wins."""

    fit: NoteFit
    answered_at: datetime

    def __post_init__(self) -> None:
        _check(self, {"session_at": self.session_at, "answered_at": self.answered_at})

    @property
    def recorded_at(self) -> datetime:
        return self.answered_at


class GoalOutcome(Enum):
    MET = "met"
    DROPPED = "dropped"
    REPLACED = "replaced"


@dataclass(frozen=True)
class GoalsAgreed(SessionFact):
    """The client's active goals from this session on, in order (``goals.agreed``): ``goal_ids[k-1]`` is what
    a goal rating's ``goal_k`` rates. The goals' words stay out, like a note's."""

    goal_ids: tuple[str, ...]
    agreed_at: datetime

    def __post_init__(self) -> None:
        _check(self, {"session_at": self.session_at, "agreed_at": self.agreed_at})
        if not 1 <= len(self.goal_ids) <= 3 or len(set(self.goal_ids)) != len(self.goal_ids):
            raise InvalidFact("invalid GoalsAgreed", {"goal_ids": "one to three distinct goals"})

    @property
    def recorded_at(self) -> datetime:
        return self.agreed_at


@dataclass(frozen=True)
class GoalClosed(SessionFact):
    """One goal ended in this session (``goal.closed``); the session's own ratings of it still count."""

    goal_id: str
    outcome: GoalOutcome
    closed_at: datetime

    def __post_init__(self) -> None:
        _check(self, {"session_at": self.session_at, "closed_at": self.closed_at})

    @property
    def recorded_at(self) -> datetime:
        return self.closed_at


Fact = AttendanceRecorded | FeedbackRecorded | NoteShared | NoteAnswered | GoalsAgreed | GoalClosed


def _check(fact: Fact, moments: dict[str, datetime]) -> None:
    problems: dict[str, str] = {}
    for name in ("event_id", "clinic_id", "client_id", "session_id", "therapist_id"):
        if not getattr(fact, name):
            problems[name] = "must not be empty"
    for name, moment in moments.items():
        if moment.utcoffset() is None:
            problems[name] = "must carry a UTC offset"
    if problems:
        raise InvalidFact(f"invalid {type(fact).__name__}", problems)
