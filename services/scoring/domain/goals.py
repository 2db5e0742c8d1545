"""Goals agreed together (Goal-Based Outcomes, DOMAIN.md version 2): which goal each rating's item names.

A client has up to three active goals, in the order they were agreed: ``goals.agreed`` sets the list from its
session on (a revision replaces it), and ``goal.closed`` ends one goal after its session, whose own ratings of it
still count. A closed goal's slot stays empty until goals are agreed again, so ``goal_2`` never silently comes to
mean another goal. A gbo item naming an empty slot rates no goal and is not read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from shared.instruments import Scores

from .history import Session

Slots = tuple[str | None, ...]  # slot k-1 holds the goal that item goal_k rates, or None


def active_goals(earlier: Sequence[Session], session: Session) -> Slots:
    """The goals active in ``session``, by slot, after the sessions ``earlier`` (in session order)."""
    slots: Slots = ()
    for before in earlier:
        slots = _after(before, slots)
    return session.goals_agreed if session.goals_agreed is not None else slots


def _after(session: Session, slots: Slots) -> Slots:
    """The slots once ``session`` is over: its agreement applied, then the goals it closed emptied."""
    if session.goals_agreed is not None:
        slots = session.goals_agreed
    return tuple(None if goal in session.goals_closed else goal for goal in slots)


def rated(scores: Scores | None, slots: Slots) -> dict[str, Decimal]:
    """Goal id to rating, for the items of ``scores`` that name an active goal."""
    if scores is None:
        return {}
    ratings = {}
    for item, value in scores.items:
        position = int(item.removeprefix("goal_")) - 1
        goal = slots[position] if position < len(slots) else None
        if goal is not None:
            ratings[goal] = value
    return ratings


def client_ratings(sessions: Iterable[Session]) -> list[tuple[Session, dict[str, Decimal]]]:
    """Each session (in session order) with the client's ratings of its active goals."""
    return _ratings(sessions, client=True)


def therapist_ratings(sessions: Iterable[Session]) -> list[tuple[Session, dict[str, Decimal]]]:
    return _ratings(sessions, client=False)


def _ratings(sessions: Iterable[Session], client: bool) -> list[tuple[Session, dict[str, Decimal]]]:
    slots: Slots = ()
    result = []
    for session in sessions:
        active = session.goals_agreed if session.goals_agreed is not None else slots
        result.append((session, rated(session.client_gbo if client else session.therapist_gbo, active)))
        slots = _after(session, slots)
    return result


def best_client_ratings(earlier: Sequence[Session]) -> dict[str, Decimal]:
    """The best client rating each goal had in ``earlier``."""
    best: dict[str, Decimal] = {}
    for _, ratings in client_ratings(earlier):
        for goal, value in ratings.items():
            best[goal] = max(value, best.get(goal, value))
    return best
