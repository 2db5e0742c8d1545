"""A client's history: the sessions of one client (clinic + client), in session order, derived from facts.

The history is a *set* of facts and the sessions are recomputed from that set, so the result cannot depend on
the order in which events arrived, and a fact applied twice is the same set (order-independent and idempotent
by construction). The choices that make it deterministic:

- One fact per event id. The same event id with the same content is a no-op; with different content it is a
  ``ConflictingFact`` (ids are unique upstream, so this is a bug to surface, not a tie to break silently).
- Feedback for the same session + instrument + respondent: the latest ``submitted_at`` wins, ties going to the
  greater event id. Attendance for the same session: the latest ``recorded_at`` wins, same tie-break.
- A session's time is its attendance record's ``occurred_at``; before that record arrives, the earliest
  ``session_at`` of its feedback or notes. Sessions are ordered by (time, session_id).
- The answer to a session's notes: the latest ``answered_at`` wins, same tie-break; so does the latest
  agreement of goals within one session.
- A session known only from feedback has unknown attendance (``None``) and is presumed held: someone rated it.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from shared.instruments import Instrument, Respondent, Scores

from .errors import ConflictingFact, InvalidFact
from .facts import (
    Attendance,
    AttendanceRecorded,
    Fact,
    FeedbackRecorded,
    GoalClosed,
    GoalsAgreed,
    NoteAnswered,
    NoteFit,
    NoteShared,
)


@dataclass(frozen=True)
class Session:
    """One session as currently known: attendance, if recorded, and the winning feedback per instrument and
    respondent; the notes the therapist shared about it and the client's latest answer to them (version 2).
    ``facts`` keeps every fact about it, in recording order, for provenance."""

    session_id: str
    occurred_at: datetime
    therapist_id: str
    attendance: Attendance | None
    feedback: tuple[FeedbackRecorded, ...]
    facts: tuple[Fact, ...]
    note_ids: tuple[str, ...] = ()  # notes shared about this session, in sharing order
    note_fit: NoteFit | None = None  # the client's latest answer to one of them; None while unanswered
    goals_agreed: tuple[str, ...] | None = None  # the goal ids agreed in this session (the latest agreement)
    goals_closed: tuple[str, ...] = ()  # the goals that ended in this session
    # Which of ``facts`` decided the fields above, so that one more rating or record updates the session instead
    # of sorting all its facts again (a rating resent a thousand times makes a session of a thousand facts).
    # None on a session built by hand: it is then derived from its facts.
    latest: LatestFacts | None = field(default=None, compare=False, repr=False)

    def scores(self, instrument: Instrument, respondent: Respondent) -> Scores | None:
        for fact in self.feedback:
            if fact.instrument is instrument and fact.respondent is respondent:
                return fact.scores
        return None

    @property
    def client_srs(self) -> Scores | None:
        return self.scores(Instrument.SRS, Respondent.CLIENT)

    @property
    def therapist_srs(self) -> Scores | None:
        return self.scores(Instrument.SRS, Respondent.THERAPIST)

    @property
    def client_ors(self) -> Scores | None:
        return self.scores(Instrument.ORS, Respondent.CLIENT)

    @property
    def client_psq(self) -> Scores | None:
        return self.scores(Instrument.PSQ, Respondent.CLIENT)

    @property
    def therapist_psq(self) -> Scores | None:
        return self.scores(Instrument.PSQ, Respondent.THERAPIST)

    @property
    def client_gbo(self) -> Scores | None:
        return self.scores(Instrument.GBO, Respondent.CLIENT)

    @property
    def therapist_gbo(self) -> Scores | None:
        return self.scores(Instrument.GBO, Respondent.THERAPIST)

    @property
    def has_client_feedback(self) -> bool:
        """The client rated the session: an SRS, or a rupture report (what missing_feedback looks for)."""
        return self.client_srs is not None or self.client_psq is not None

    @property
    def presumed_held(self) -> bool:
        return self.attendance is None or self.attendance.took_place

    @property
    def counts(self) -> bool:
        """Whether the session counts in session windows: a session the clinic cancelled never happened and
        says nothing about the client, so every "n sessions" rule skips it."""
        return self.attendance is not Attendance.CANCELLED


@dataclass(frozen=True)
class LatestFacts:
    """Of a session's facts, the latest attendance record and the latest rating (in recording order)."""

    record: AttendanceRecorded | None
    feedback: FeedbackRecorded | None


@dataclass(frozen=True)
class ClientHistory:
    clinic_id: str
    client_id: str
    facts: frozenset[Fact] = frozenset()

    def __post_init__(self) -> None:
        by_id: dict[str, Fact] = {}
        for fact in self.facts:
            _check_belongs(self, fact)
            other = by_id.setdefault(fact.event_id, fact)
            if other is not fact:
                raise ConflictingFact("conflicting facts", {"event_id": f"{fact.event_id!r} used twice"})

    @classmethod
    def of(cls, clinic_id: str, client_id: str, facts: Iterable[Fact] = ()) -> ClientHistory:
        """The history made of ``facts`` (a fold of ``with_fact``; duplicates are fine)."""
        history = cls(clinic_id, client_id)
        # The fold of ``with_fact`` in one pass (each ``with_fact`` copies the whole set: quadratic).
        by_id: dict[str, Fact] = {}
        for fact in facts:
            known = by_id.get(fact.event_id)
            if known is not None and known == fact:
                continue  # already in the set: with_fact returns the history unchanged
            _check_belongs(history, fact)
            if known is not None:
                raise ConflictingFact(
                    "conflicting facts", {"event_id": f"{fact.event_id!r} already applied with other content"}
                )
            by_id[fact.event_id] = fact
        return cls(clinic_id, client_id, frozenset(by_id.values())) if by_id else history

    def with_fact(self, fact: Fact) -> ClientHistory:
        """This history with one more fact; the same history if the event id was already applied."""
        if fact in self.facts:
            return self
        _check_belongs(self, fact)
        if fact.event_id in self.event_ids:
            raise ConflictingFact(
                "conflicting facts", {"event_id": f"{fact.event_id!r} already applied with other content"}
            )
        # Every fact here was checked when it joined: the new history checks only the new one (above), and
        # carries over what was derived, changing only the fact's own session.
        extended = object.__new__(ClientHistory)
        object.__setattr__(extended, "clinic_id", self.clinic_id)
        object.__setattr__(extended, "client_id", self.client_id)
        object.__setattr__(extended, "facts", self.facts | {fact})
        extended.__dict__["event_ids"] = self.event_ids | {fact.event_id}
        if "sessions" in self.__dict__:
            sessions, by_id = _with_session_fact(self.sessions, self._sessions_by_id, fact)
            extended.__dict__["sessions"], extended.__dict__["_sessions_by_id"] = sessions, by_id
        return extended

    def has_applied(self, event_id: str) -> bool:
        return event_id in self.event_ids

    @cached_property
    def event_ids(self) -> frozenset[str]:
        return frozenset(fact.event_id for fact in self.facts)

    @cached_property
    def sessions(self) -> tuple[Session, ...]:
        """Every known session in session order: (time, session_id)."""
        grouped: dict[str, list[Fact]] = {}
        for fact in self.facts:
            grouped.setdefault(fact.session_id, []).append(fact)
        sessions = (_session(session_id, facts) for session_id, facts in grouped.items())
        return tuple(sorted(sessions, key=_session_order))

    def session(self, session_id: str) -> Session | None:
        return self._sessions_by_id.get(session_id)

    @cached_property
    def _sessions_by_id(self) -> dict[str, Session]:
        return {session.session_id: session for session in self.sessions}


def _session_order(session: Session) -> tuple[datetime, str]:
    return session.occurred_at, session.session_id


def _with_session_fact(
    sessions: tuple[Session, ...], by_id: dict[str, Session], fact: Fact
) -> tuple[tuple[Session, ...], dict[str, Session]]:
    """``sessions`` (of some facts, ``by_id`` their index) recomputed for those facts plus ``fact``: the other
    sessions keep their facts, so they are reused as they are (the earlier ones stay identical objects), and
    the changed one moves to its place in session order (keys are unique: the session id is in them)."""
    known = by_id.get(fact.session_id)
    if known is None:
        changed, others = _session(fact.session_id, [fact]), sessions
    else:
        changed = _with_fact(known, fact)
        at = bisect.bisect_left(sessions, _session_order(known), key=_session_order)
        others = sessions[:at] + sessions[at + 1 :]
    at = bisect.bisect_left(others, _session_order(changed), key=_session_order)
    return (*others[:at], changed, *others[at:]), {**by_id, fact.session_id: changed}


def _with_fact(known: Session, fact: Fact) -> Session:
    """``_session`` of ``known``'s facts plus ``fact``. A rating or an attendance record changes only what the
    latest of its kind decides, so those are worked out from ``known`` alone; any other fact, or a session
    built by hand, is derived from all its facts again."""
    if known.latest is not None:
        if isinstance(fact, AttendanceRecorded):
            return _with_record(known, known.latest, fact)
        if isinstance(fact, FeedbackRecorded) and not _same_moment_written_otherwise(known, fact):
            return _with_rating(known, known.latest, fact)
    return _session(known.session_id, [*known.facts, fact])


def _same_moment_written_otherwise(known: Session, fact: FeedbackRecorded) -> bool:
    """Without a record, a rating naming the session's moment with another offset: which of the two is shown
    depends on where the rating sorts among the others, which only ``_session`` works out."""
    return (
        (known.latest is None or known.latest.record is None)
        and fact.session_at == known.occurred_at
        and fact.session_at.utcoffset() != known.occurred_at.utcoffset()
    )


def _with_record(known: Session, latest: LatestFacts, fact: AttendanceRecorded) -> Session:
    """The latest record decides when the session was, with whom, and whether it was attended."""
    record = latest.record
    if record is None or _recording_order(record) < _recording_order(fact):
        record = fact
    return dataclasses.replace(
        known,
        occurred_at=record.occurred_at,
        therapist_id=record.therapist_id,
        attendance=record.attendance,
        facts=_inserted(known.facts, fact),
        latest=LatestFacts(record, latest.feedback),
    )


def _with_rating(known: Session, latest: LatestFacts, fact: FeedbackRecorded) -> Session:
    """The latest rating of each instrument and respondent wins; without a record, the earliest moment any
    rating names is the session's, and the therapist of the latest rating is its therapist."""
    order = _recording_order(fact)
    newest = latest.feedback
    if newest is None or _recording_order(newest) < order:
        newest = fact
    slot = (fact.instrument, fact.respondent)
    current = next((f for f in known.feedback if (f.instrument, f.respondent) == slot), None)
    feedback = known.feedback
    if current is None or _recording_order(current) < order:
        feedback = tuple(sorted([*(f for f in feedback if f is not current), fact], key=_feedback_order))
    record = latest.record
    return dataclasses.replace(
        known,
        occurred_at=record.occurred_at if record else min(known.occurred_at, fact.session_at),
        therapist_id=record.therapist_id if record else newest.therapist_id,
        feedback=feedback,
        facts=_inserted(known.facts, fact),
        latest=LatestFacts(record, newest),
    )


def _inserted(facts: tuple[Fact, ...], fact: Fact) -> tuple[Fact, ...]:
    """``facts`` (in recording order) with ``fact`` in its place."""
    at = bisect.bisect_left(facts, _recording_order(fact), key=_recording_order)
    return (*facts[:at], fact, *facts[at:])


def _recording_order(fact: Fact) -> tuple[datetime, str]:
    return fact.recorded_at, fact.event_id


def _feedback_order(fact: FeedbackRecorded) -> tuple[str, str]:
    return fact.instrument.value, fact.respondent.value


def _session(session_id: str, facts: list[Fact]) -> Session:
    ordered = tuple(sorted(facts, key=_recording_order))
    records = [fact for fact in ordered if isinstance(fact, AttendanceRecorded)]
    feedback = [fact for fact in ordered if isinstance(fact, FeedbackRecorded)]
    notes = [fact for fact in ordered if isinstance(fact, NoteShared)]
    answers = [fact for fact in ordered if isinstance(fact, NoteAnswered)]
    agreements = [fact for fact in ordered if isinstance(fact, GoalsAgreed)]
    closings = [fact for fact in ordered if isinstance(fact, GoalClosed)]
    winners: dict[tuple[Instrument, Respondent], FeedbackRecorded] = {}
    for fact in feedback:  # in recording order, so the last one written per slot is the latest
        winners[(fact.instrument, fact.respondent)] = fact
    latest = records[-1] if records else None
    # The facts that say when the session was, before its record does.
    about: list[FeedbackRecorded | NoteShared | NoteAnswered | GoalsAgreed | GoalClosed] = [
        *feedback,
        *notes,
        *answers,
        *agreements,
        *closings,
    ]
    return Session(
        session_id=session_id,
        occurred_at=latest.occurred_at if latest else min(fact.session_at for fact in about),
        therapist_id=(latest or (feedback or about)[-1]).therapist_id,
        attendance=latest.attendance if latest else None,
        feedback=tuple(sorted(winners.values(), key=_feedback_order)),
        facts=ordered,
        note_ids=tuple(dict.fromkeys(note.note_id for note in notes)),
        note_fit=answers[-1].fit if answers else None,
        goals_agreed=agreements[-1].goal_ids if agreements else None,
        goals_closed=tuple(dict.fromkeys(closing.goal_id for closing in closings)),
        latest=LatestFacts(latest, feedback[-1] if feedback else None),
    )


def _check_belongs(history: ClientHistory, fact: Fact) -> None:
    problems = {
        name: f"belongs to {value!r}, not {expected!r}"
        for name, value, expected in (
            ("clinic_id", fact.clinic_id, history.clinic_id),
            ("client_id", fact.client_id, history.client_id),
        )
        if value != expected
    }
    if problems:
        raise InvalidFact("fact from another client", problems)
