"""A client's goals as the feedback service knows them, and which are active in a session. Pure.

The meaning is scoring's (``services.scoring.domain.goals``): ``gbo`` item ``goal_k`` rates slot k of the latest
``goals.agreed`` as of the session, and a ``goal.closed`` empties its slot after its own session (whose ratings
of it still count) until goals are agreed again. The latest agreement is the greatest by session order
(``session_at``, then ``session_id``), then ``agreed_at``, then event id, as scoring breaks ties.

The state is the set of goal events applied, keyed by event id, and everything shown is computed from that set:
an event applied twice changes nothing, and the result does not depend on the order events arrived in (an older
agreement arriving late never overwrites a newer one; a late closing of a goal of an earlier agreement empties
nothing). Every agreement is kept, not only the latest, so that a link for an earlier session still shows the
goals active in that session.

The goal texts are kept as they travel, sealed with the client's data key (``Words``, docs/privacy.md): only the
form that shows a client their goals opens them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from shared.contracts import CloudEvent, GoalClosedV1, GoalsAgreedV2


def _stored(moment: datetime) -> datetime:
    # MongoDB keeps milliseconds in UTC: a state rebuilt from its document equals the one built from the events.
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True, order=True)
class SessionRef:
    """A session in session order: by its time, then its id."""

    at: datetime
    session_id: str

    @classmethod
    def of(cls, at: datetime, session_id: str) -> SessionRef:
        return cls(_stored(at), session_id)

    def not_after(self, other: SessionRef) -> bool:
        return self.session_id == other.session_id or self <= other

    def before(self, other: SessionRef) -> bool:
        return self.session_id != other.session_id and self < other


@dataclass(frozen=True)
class AgreedGoal:
    goal_id: str
    text: str  # the client's words, sealed (a ``Words`` value); opened only to show them to the client


@dataclass(frozen=True)
class Agreement:
    event_id: str
    session: SessionRef
    agreed_at: datetime
    goals: tuple[AgreedGoal, ...]

    @property
    def order(self) -> tuple[SessionRef, datetime, str]:
        return self.session, self.agreed_at, self.event_id


@dataclass(frozen=True)
class Closing:
    event_id: str
    goal_id: str
    session: SessionRef
    closed_at: datetime


@dataclass(frozen=True)
class ActiveGoal:
    """A goal active in a session, in its slot: ``gbo`` item ``goal_<slot>`` rates it."""

    slot: int
    goal_id: str
    text: str  # sealed, as in AgreedGoal, until the form opens it

    @property
    def item(self) -> str:
        return f"goal_{self.slot}"


@dataclass(frozen=True)
class ClientGoals:
    """One client's goal events: the agreements in order (the latest last) and the closings."""

    agreements: tuple[Agreement, ...] = ()
    closings: tuple[Closing, ...] = ()

    def agreed(self, event_id: str, data: GoalsAgreedV2) -> ClientGoals:
        if any(agreement.event_id == event_id for agreement in self.agreements):
            return self
        agreement = Agreement(
            event_id,
            SessionRef.of(data.session_at, data.session_id),
            _stored(data.agreed_at),
            tuple(AgreedGoal(goal.goal_id, goal.text) for goal in data.goals),
        )
        return replace(self, agreements=tuple(sorted((*self.agreements, agreement), key=lambda a: a.order)))

    def closed(self, event_id: str, data: GoalClosedV1) -> ClientGoals:
        if any(closing.event_id == event_id for closing in self.closings):
            return self
        closing = Closing(
            event_id, data.goal_id, SessionRef.of(data.session_at, data.session_id), _stored(data.closed_at)
        )
        ordered = sorted((*self.closings, closing), key=lambda c: (c.session, c.closed_at, c.event_id))
        return replace(self, closings=tuple(ordered))

    def applied(self, events: Iterable[CloudEvent[Any]]) -> ClientGoals:
        """This state with ``events`` applied; any event but a goal event is passed over."""
        state = self
        for event in events:
            if isinstance(event.data, GoalsAgreedV2):
                state = state.agreed(event.id, event.data)
            elif isinstance(event.data, GoalClosedV1):
                state = state.closed(event.id, event.data)
        return state

    def with_texts(self, change: Callable[[str, str], str]) -> ClientGoals:
        """This state with each goal's text replaced by ``change(its agreement's event id, text)``."""
        agreements = tuple(
            replace(
                agreement,
                goals=tuple(
                    replace(goal, text=change(agreement.event_id, goal.text)) for goal in agreement.goals
                ),
            )
            for agreement in self.agreements
        )
        return replace(self, agreements=agreements)

    def active(self, session: SessionRef | None = None) -> tuple[ActiveGoal, ...]:
        """The goals active in ``session`` (as of now when None), in slot order; empty slots left out."""
        agreements = [a for a in self.agreements if session is None or a.session.not_after(session)]
        if not agreements:
            return ()
        latest = agreements[-1]
        ended = {
            closing.goal_id
            for closing in self.closings
            if latest.session.not_after(closing.session)
            and (session is None or closing.session.before(session))
        }
        return tuple(
            ActiveGoal(slot, goal.goal_id, goal.text)
            for slot, goal in enumerate(latest.goals, start=1)
            if goal.goal_id not in ended
        )
