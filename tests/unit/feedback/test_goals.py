"""Applying goal events to what feedback keeps of a client's goals: idempotent, order-safe, by slot, as of a
session; and the stored document says the same as the events, the goals' words sealed."""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from services.feedback.goals.state import ActiveGoal, ClientGoals, SessionRef
from services.feedback.goals.store import from_document, to_document
from shared.contracts import (
    GOAL_CLOSED,
    GOALS_AGREED,
    NOTE_SHARED,
    CloudEvent,
    GoalClosedV1,
    GoalsAgreedV2,
    NoteSharedV1,
    SealedGoal,
)
from shared.privacy.words import open_words, seal

DAY = datetime(2026, 11, 20, 10, tzinfo=UTC)
DATA_KEY = bytes(range(32))  # the client's data key, in these tests


def sealed(event_id: str, text: str) -> str:
    return seal(DATA_KEY, "clinic-a", "c-1", event_id, text)


def opened(value: str) -> str:
    return open_words(DATA_KEY, "clinic-a", "c-1", value)


def at(session: int) -> datetime:
    """Session n is held n weeks after the first."""
    return DAY + timedelta(weeks=session)


def agreed(
    event_id: str, session: int, *goals: str, agreed_at: datetime | None = None, session_id: str | None = None
) -> CloudEvent[Any]:
    data = GoalsAgreedV2(
        client_id="c-1",
        therapist_id="t-1",
        session_id=session_id or f"s-{session}",
        session_at=at(session),
        goals=[SealedGoal(goal_id=goal, text=sealed(event_id, f"the words of {goal}")) for goal in goals],
        agreed_at=agreed_at or at(session) + timedelta(minutes=50, microseconds=123456),
    )
    return GOALS_AGREED.envelope(data, clinic_id="clinic-a", client_id="c-1", source="/t", event_id=event_id)


def closed(event_id: str, session: int, goal: str) -> CloudEvent[Any]:
    data = GoalClosedV1(
        client_id="c-1",
        therapist_id="t-1",
        session_id=f"s-{session}",
        session_at=at(session),
        goal_id=goal,
        outcome="met",
        closed_at=at(session) + timedelta(minutes=55),
    )
    return GOAL_CLOSED.envelope(data, clinic_id="clinic-a", client_id="c-1", source="/t", event_id=event_id)


def session(n: int) -> SessionRef:
    return SessionRef.of(at(n), f"s-{n}")


def slots(goals: tuple[ActiveGoal, ...]) -> dict[str, str]:
    return {goal.item: goal.goal_id for goal in goals}


def test_goals_agreed_fill_the_slots_in_their_order() -> None:
    state = ClientGoals().applied([agreed("e-1", 1, "g-a", "g-b", "g-c")])
    assert slots(state.active()) == {"goal_1": "g-a", "goal_2": "g-b", "goal_3": "g-c"}
    assert [opened(goal.text) for goal in state.active()] == [
        "the words of g-a",
        "the words of g-b",
        "the words of g-c",
    ]


def test_an_event_applied_again_changes_nothing() -> None:
    events = [agreed("e-1", 1, "g-a", "g-b"), closed("e-2", 2, "g-a")]
    once = ClientGoals().applied(events)
    assert once.applied(events) == once
    assert once.applied(reversed(events)) == once


def test_a_revision_replaces_the_list_and_an_older_agreement_arriving_late_does_not_overwrite_it() -> None:
    older, newer = agreed("e-1", 1, "g-a", "g-b"), agreed("e-2", 3, "g-c")
    in_order = ClientGoals().applied([older, newer])
    late = ClientGoals().applied([newer, older])
    assert slots(in_order.active()) == slots(late.active()) == {"goal_1": "g-c"}
    assert in_order == late


def test_the_latest_agreement_is_by_session_time_then_session_id_then_agreed_at() -> None:
    # Agreed later in the day, but about an earlier session: the later session's goals stand.
    earlier_session = agreed("e-9", 1, "g-a", agreed_at=at(5))
    later_session = agreed("e-1", 2, "g-b", agreed_at=at(2))
    assert slots(ClientGoals().applied([later_session, earlier_session]).active()) == {"goal_1": "g-b"}
    # One session, revised twice: the later agreed_at stands, whatever arrived last.
    first = agreed("e-5", 2, "g-c", agreed_at=at(2) + timedelta(minutes=10))
    second = agreed("e-4", 2, "g-d", agreed_at=at(2) + timedelta(minutes=40))
    assert slots(ClientGoals().applied([second, first]).active()) == {"goal_1": "g-d"}
    # Same time, two sessions: the greater session id is the later session.
    same_time = [agreed("e-7", 2, "g-e", session_id="s-2b"), agreed("e-8", 2, "g-f", session_id="s-2a")]
    assert slots(ClientGoals().applied(same_time).active()) == {"goal_1": "g-e"}


def test_a_closed_goal_empties_its_slot_and_the_others_keep_theirs() -> None:
    state = ClientGoals().applied([agreed("e-1", 1, "g-a", "g-b", "g-c"), closed("e-2", 2, "g-b")])
    assert slots(state.active()) == {"goal_1": "g-a", "goal_3": "g-c"}


def test_goals_agreed_again_fill_the_slots_anew() -> None:
    state = ClientGoals().applied(
        [agreed("e-1", 1, "g-a", "g-b"), closed("e-2", 2, "g-a"), agreed("e-3", 3, "g-b", "g-c")]
    )
    assert slots(state.active()) == {"goal_1": "g-b", "goal_2": "g-c"}


def test_a_late_closing_of_a_goal_from_before_a_revision_empties_nothing() -> None:
    # g-a was closed in session 2 and agreed again in session 3; the closing arrives last.
    state = ClientGoals().applied(
        [agreed("e-1", 1, "g-a", "g-b"), agreed("e-3", 3, "g-a", "g-c"), closed("e-2", 2, "g-a")]
    )
    assert slots(state.active()) == {"goal_1": "g-a", "goal_2": "g-c"}


def test_a_closing_that_arrives_before_its_agreement_still_counts() -> None:
    state = ClientGoals().applied([closed("e-2", 2, "g-b"), agreed("e-1", 1, "g-a", "g-b")])
    assert slots(state.active()) == {"goal_1": "g-a"}


def test_the_result_does_not_depend_on_the_order_events_arrive_in() -> None:
    events = [
        agreed("e-1", 1, "g-a", "g-b", "g-c"),
        closed("e-2", 2, "g-c"),
        agreed("e-3", 3, "g-a", "g-d"),
        closed("e-4", 4, "g-a"),
        closed("e-5", 1, "g-b"),
    ]
    results = {ClientGoals().applied(order) for order in itertools.permutations(events)}
    assert len(results) == 1
    assert slots(results.pop().active()) == {"goal_2": "g-d"}


def test_the_goals_active_in_a_session_are_those_agreed_by_then_and_not_closed_before_it() -> None:
    state = ClientGoals().applied(
        [agreed("e-1", 2, "g-a", "g-b"), closed("e-2", 3, "g-a"), agreed("e-3", 5, "g-c")]
    )
    assert state.active(session(1)) == ()  # before any agreement
    assert slots(state.active(session(2))) == {"goal_1": "g-a", "goal_2": "g-b"}
    # Closed in session 3: still rated in session 3, its slot empty from session 4.
    assert slots(state.active(session(3))) == {"goal_1": "g-a", "goal_2": "g-b"}
    assert slots(state.active(session(4))) == {"goal_2": "g-b"}
    assert slots(state.active(session(5))) == slots(state.active()) == {"goal_1": "g-c"}


def test_a_session_is_the_same_session_by_its_id_whatever_its_time_says() -> None:
    state = ClientGoals().applied([agreed("e-1", 2, "g-a"), closed("e-2", 2, "g-a")])
    # A link for session s-2 whose time an EHR gave a little earlier than the agreement's.
    shifted = SessionRef.of(at(2) - timedelta(minutes=5), "s-2")
    assert slots(state.active(shifted)) == {"goal_1": "g-a"}
    assert state.active() == ()  # closed in session 2: empty after it


def test_other_events_are_passed_over() -> None:
    note = NOTE_SHARED.envelope(
        NoteSharedV1(
            note_id="n-1",
            session_id="s-1",
            therapist_id="t-1",
            client_id="c-1",
            session_at=at(1),
            text="next steps",
            shared_at=at(1),
        ),
        clinic_id="clinic-a",
        client_id="c-1",
        source="/t",
    )
    assert ClientGoals().applied([note]) == ClientGoals()


def test_the_stored_document_holds_the_same_goals_as_the_events() -> None:
    state = ClientGoals().applied(
        [agreed("e-1", 1, "g-a", "g-b", "g-c"), closed("e-2", 2, "g-b"), agreed("e-3", 0, "g-z")]
    )
    document = to_document("clinic-a", "c-1", state)
    assert from_document(document) == state
    assert [(goal["slot"], goal["goal_id"], opened(goal["text"])) for goal in document["active"]] == [
        (1, "g-a", "the words of g-a"),
        (3, "g-c", "the words of g-c"),
    ]
    assert "the words of" not in repr(document)  # sealed, in the active goals and in every agreement
    # Stored to the millisecond, as MongoDB keeps it: applying the same events to the stored state is no change.
    assert all(a.agreed_at.microsecond % 1000 == 0 for a in state.agreements)
    assert from_document(document).applied([agreed("e-1", 1, "g-a", "g-b", "g-c")]) == state
    assert from_document(None) == ClientGoals()


def test_the_texts_can_be_rewritten_each_with_its_agreements_event_id() -> None:
    """What sealing goal texts stored in the clear by an earlier version does: each sealed for the event that
    brought it; goal ids, sessions and slots unchanged."""
    in_clear = ClientGoals().applied([agreed("e-1", 1, "g-a", "g-b"), agreed("e-2", 2, "g-c")])
    in_clear = in_clear.with_texts(lambda _, text: opened(text))  # as an earlier version stored them
    assert [goal.text for goal in in_clear.active()] == ["the words of g-c"]

    resealed = in_clear.with_texts(sealed)
    assert resealed == ClientGoals().applied([agreed("e-1", 1, "g-a", "g-b"), agreed("e-2", 2, "g-c")])
    assert [(a.event_id, [opened(g.text) for g in a.goals]) for a in resealed.agreements] == [
        ("e-1", ["the words of g-a", "the words of g-b"]),
        ("e-2", ["the words of g-c"]),
    ]
