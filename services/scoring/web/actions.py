"""What the views' buttons do: acknowledge an episode's alert, resolve an episode by hand, share a note with
the client (``note.shared``, staged in the outbox like an acknowledgement, so it reaches ``client.events``
and is applied by scoring's own subscriber like a note any other system shares), and agree, revise or close
the client's goals (``goals.agreed``, ``goal.closed``: the same way, like goals any other system records).

Acknowledging stages ``rupture.acknowledged`` in scoring's own outbox, with the deterministic id notify uses
(``derived_event_id("rupture.acknowledged", clinic, rupture)``), instead of calling notify's HTTP API:

- services talk only through Kafka; a server-side call would need notify's address and a credential for it in
  scoring, and would fail whenever notify is down, while the outbox publishes once Kafka takes it;
- the id is the same whichever path comes first (the alert's link in notify, or this button), so consumers
  that deduplicate by event id see one acknowledgement, never two;
- scoring records it the way it records notify's: its own subscriber applies the event from Kafka, so the
  read model has a single way in, and a replay of the topic rebuilds the same state.

The one gap: notify does not consume ``rupture.acknowledged`` today, so an acknowledgement made here does not
yet stop notify's 48-hour escalation timer (notify would need a small subscriber that marks its episode).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.scoring.views import EpisodeView, SessionView
from shared import mongo
from shared.contracts import (
    GOAL_CLOSED,
    GOALS_AGREED,
    NOTE_SHARED,
    RUPTURE_ACKNOWLEDGED,
    EventKind,
    Goal,
    GoalClosedV1,
    GoalOutcome,
    GoalsAgreedV1,
    NoteSharedV1,
    RepairTags,
    RuptureAcknowledgedV2,
    derived_event_id,
)
from shared.messaging import Outbox, OutboxRelay
from shared.privacy.words import Words

SOURCE = "/services/scoring/views"


@dataclass(frozen=True)
class Plumbing:
    """What staging an event needs: the MongoDB client (transactions), the outbox and its relay."""

    client: AsyncMongoClient[mongo.Document]
    outbox: Outbox
    relay: OutboxRelay
    words: Words  # seals the words of notes and goals before they are staged


def acknowledgement_id(clinic_id: str, rupture_id: str) -> str:
    return derived_event_id("rupture.acknowledged", clinic_id, rupture_id)


async def acknowledge(
    plumbing: Plumbing,
    clinic_id: str,
    client_id: str,
    episode: EpisodeView,
    by: str,
    tags: RepairTags | None = None,
) -> tuple[str, bool]:
    """Stage the acknowledgement once, with the therapist's tags if any; returns its event id and whether this
    call staged it (the first acknowledgement of an episode, and its tags, are the ones that count)."""
    event_id = acknowledgement_id(clinic_id, episode.rupture_id)
    data = RuptureAcknowledgedV2(
        **(tags or RepairTags()).model_dump(),
        rupture_id=episode.rupture_id,
        therapist_id=episode.therapist_id,
        client_id=client_id,
        acknowledged_by=by,
        acknowledged_at=_now(),
        via="view",
    )
    return event_id, await _stage_once(plumbing, RUPTURE_ACKNOWLEDGED, clinic_id, client_id, data, event_id)


async def share_note(
    plumbing: Plumbing, clinic_id: str, client_id: str, session: SessionView, note_id: str, text: str
) -> tuple[str, bool]:
    """Stage ``note.shared`` once per ``note_id`` (the form's own, so a second click shares nothing twice);
    returns its event id and whether this call staged it."""
    event_id = derived_event_id("note.shared", clinic_id, client_id, note_id)
    data = NoteSharedV1(
        note_id=note_id,
        session_id=session.session_id,
        therapist_id=session.therapist_id,
        client_id=client_id,
        session_at=session.occurred_at,
        text=text,
        shared_at=_now(),
    )
    return event_id, await _stage_once(plumbing, NOTE_SHARED, clinic_id, client_id, data, event_id)


async def agree_goals(
    plumbing: Plumbing,
    clinic_id: str,
    client_id: str,
    session: SessionView,
    form_id: str,
    goals: Sequence[tuple[str, str]],
) -> tuple[str, bool]:
    """Stage ``goals.agreed`` (``goals``: goal id and text, in gbo order) once per ``form_id`` (the form's own,
    so a second click agrees nothing twice); returns its event id and whether this call staged it."""
    event_id = derived_event_id("goals.agreed", clinic_id, client_id, form_id)
    data = GoalsAgreedV1(
        client_id=client_id,
        therapist_id=session.therapist_id,
        session_id=session.session_id,
        session_at=session.occurred_at,
        goals=[Goal(goal_id=goal_id, text=text) for goal_id, text in goals],
        agreed_at=_now(),
    )
    return event_id, await _stage_once(plumbing, GOALS_AGREED, clinic_id, client_id, data, event_id)


async def close_goal(
    plumbing: Plumbing,
    clinic_id: str,
    client_id: str,
    session: SessionView,
    goal_id: str,
    outcome: GoalOutcome,
    form_id: str,
) -> tuple[str, bool]:
    """Stage ``goal.closed`` once per goal and ``form_id``; returns its event id and whether this call staged it."""
    event_id = derived_event_id("goal.closed", clinic_id, client_id, goal_id, form_id)
    data = GoalClosedV1(
        client_id=client_id,
        therapist_id=session.therapist_id,
        session_id=session.session_id,
        session_at=session.occurred_at,
        goal_id=goal_id,
        outcome=outcome,
        closed_at=_now(),
    )
    return event_id, await _stage_once(plumbing, GOAL_CLOSED, clinic_id, client_id, data, event_id)


def _now() -> datetime:
    """Now, to the millisecond (what a stored event keeps)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


async def _stage_once(
    plumbing: Plumbing, kind: EventKind[Any], clinic_id: str, client_id: str, data: Any, event_id: str
) -> bool:
    """Stage the event of ``kind`` with ``data`` about the client, unless ``event_id`` is already staged; the
    words in ``data`` are sealed first."""
    sealed = await plumbing.words.sealed(kind, clinic_id, client_id, event_id, data)
    event = kind.envelope(sealed, clinic_id=clinic_id, client_id=client_id, source=SOURCE, event_id=event_id)

    async def work(session: AsyncClientSession) -> bool:
        if await plumbing.outbox.collection.find_one({"_id": event.id}, {"_id": 1}, session=session):
            return False  # a second click: the first one's event stands
        await plumbing.outbox.stage(session, [(kind, event)])
        return True

    staged = await mongo.in_transaction(plumbing.client, work)
    plumbing.relay.wake()
    return staged
