"""What a client sees on their own page (DOMAIN.md version 2), taken from their alliance read model.

Their SRS and ORS over time in plain words, their goals with their own ratings of them, the therapist's shared
notes with their own answers, and their latest session when it still waits for their rating. Built by picking what
the client may see, never by hiding parts of the clinical view: markers, severities, episodes and the therapist's
own ratings have no field here to leak through.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.scoring.views import ClientAlliance, GoalView, SessionView

SCALE_MAX = 40.0  # SRS and ORS totals: four items of 0–10
GOAL_MAX = 10.0  # a goal's rating: 0 not at all met, 10 fully met
NOT_HELD = frozenset({"no_show", "late_cancel", "cancelled"})


@dataclass(frozen=True)
class Point:
    """One of the client's own ratings: which session, and its total out of 40."""

    session_id: str
    on: datetime
    total: float


@dataclass(frozen=True)
class Scale:
    """One instrument's totals over time, with the words the page says about them."""

    title: str
    question: str  # what the client was asked, in plain words
    points: tuple[Point, ...]

    @property
    def first(self) -> Point | None:
        return self.points[0] if self.points else None

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None


@dataclass(frozen=True)
class NoteForClient:
    note_id: str
    session_id: str
    therapist_id: str
    session_at: datetime
    shared_at: datetime
    text: str
    fit: str | None  # the client's latest answer: yes, partly, no; None while unanswered
    comment: str | None


@dataclass(frozen=True)
class GoalPoint:
    """One of the client's own ratings of a goal, out of 10."""

    session_id: str
    on: datetime
    rating: float


@dataclass(frozen=True)
class GoalForClient:
    """A goal in the client's words and their own ratings of it: never the therapist's."""

    goal_id: str
    text: str
    ended: str | None  # None while active; "met", or "ended" however else it closed
    ended_on: datetime | None
    points: tuple[GoalPoint, ...]  # in session order

    @property
    def first(self) -> GoalPoint | None:
        return self.points[0] if self.points else None

    @property
    def latest(self) -> GoalPoint | None:
        return self.points[-1] if self.points else None


@dataclass(frozen=True)
class SessionToRate:
    session_id: str
    therapist_id: str
    occurred_at: datetime
    rated: bool  # the client already rated it (SRS)


@dataclass(frozen=True)
class ClientPage:
    client_id: str
    sessions_felt: Scale  # SRS: how each session felt to the client
    doing: Scale  # ORS: how the client has been doing
    notes: tuple[NoteForClient, ...]  # newest first
    latest_session: SessionToRate | None
    goals: tuple[GoalForClient, ...]  # the active ones in their order, then the ended ones


def client_page(alliance: ClientAlliance, now: datetime) -> ClientPage:
    sessions = [s for s in alliance.sessions if s.counts]
    when = {s.session_id: s.occurred_at for s in alliance.sessions}
    notes = tuple(
        NoteForClient(
            note_id=note.note_id,
            session_id=note.session_id,
            therapist_id=note.therapist_id,
            session_at=when.get(note.session_id, note.shared_at),
            shared_at=note.shared_at,
            text=note.text,
            fit=note.fit,
            comment=note.comment,
        )
        for note in alliance.notes
    )
    return ClientPage(
        client_id=alliance.client_id,
        sessions_felt=Scale(
            "How your sessions felt to you",
            "After each session you told us how it went for you: being heard, working on what you wanted, the"
            " way of working, and the session overall.",
            _points(sessions, "srs"),
        ),
        doing=Scale(
            "How you have been doing",
            "Before sessions you told us how you were doing: on your own, with the people close to you, at work"
            " or school, and overall.",
            _points(sessions, "ors"),
        ),
        notes=notes,
        latest_session=_latest_session(sessions, now),
        goals=tuple(_goal(goal) for goal in alliance.goals),
    )


def _goal(goal: GoalView) -> GoalForClient:
    return GoalForClient(
        goal_id=goal.goal_id,
        text=goal.text,
        ended=None if goal.status == "active" else ("met" if goal.outcome == "met" else "ended"),
        ended_on=goal.closed_at,
        points=tuple(
            GoalPoint(r.session_id, r.occurred_at, r.client) for r in goal.ratings if r.client is not None
        ),
    )


def _total(session: SessionView, instrument: str) -> float | None:
    return next(
        (r.total for r in session.ratings if r.instrument == instrument and r.respondent == "client"), None
    )


def _points(sessions: Sequence[SessionView], instrument: str) -> tuple[Point, ...]:
    found = ((s, _total(s, instrument)) for s in sessions)
    return tuple(Point(s.session_id, s.occurred_at, total) for s, total in found if total is not None)


def _latest_session(sessions: Sequence[SessionView], now: datetime) -> SessionToRate | None:
    """The latest session that took place; the page offers to rate it while the client has not."""
    held = [s for s in sessions if s.occurred_at <= now and s.attendance not in NOT_HELD]
    if not held:
        return None
    latest = held[-1]
    return SessionToRate(
        latest.session_id, latest.therapist_id, latest.occurred_at, _total(latest, "srs") is not None
    )


@dataclass(frozen=True)
class Line:
    """A scale drawn as an SVG polyline (the page's chart needs no script)."""

    points: str  # "x,y x,y ..." in the viewBox
    dots: tuple[tuple[float, float], ...]


WIDTH, HEIGHT, PAD, LEFT = 320.0, 120.0, 8.0, 24.0  # LEFT leaves room for the axis' "40" and "0"


def line(scale: Scale) -> Line | None:
    """The totals left to right in session order, 0 at the bottom and 40 at the top; None below two points."""
    return _line([p.total for p in scale.points], SCALE_MAX)


def goal_line(goal: GoalForClient) -> Line | None:
    """The client's ratings of a goal the same way, 0 at the bottom and 10 at the top."""
    return _line([p.rating for p in goal.points], GOAL_MAX)


def _line(values: Sequence[float], top: float) -> Line | None:
    if len(values) < 2:
        return None
    step = (WIDTH - LEFT - PAD) / (len(values) - 1)
    dots = tuple(
        (round(LEFT + i * step, 1), round(HEIGHT - PAD - (value / top) * (HEIGHT - 2 * PAD), 1))
        for i, value in enumerate(values)
    )
    return Line(" ".join(f"{x},{y}" for x, y in dots), dots)
