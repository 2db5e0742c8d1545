"""Picking a few kinds out of a shared topic: the records of those kinds decoded each by its own kind, every
other record passed over unjudged, a record that names a picked kind but is none refused with the reason."""

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.contracts import (
    FEEDBACK_SUBMITTED,
    GOAL_CLOSED,
    GOALS_AGREED,
    NOTE_SHARED,
    FeedbackSubmittedV1,
    Goal,
    GoalClosedV1,
    GoalsAgreedV1,
    NoteSharedV1,
    encode,
)
from shared.messaging.picking import KindPicker, names_kind

WHEN = datetime(2026, 11, 20, 10, tzinfo=UTC)
GOAL_TEXT = "Sleep through the night. words-of-the-client-5c1e"
PICKER = KindPicker([GOALS_AGREED, GOAL_CLOSED])


@dataclass(frozen=True)
class Record:
    value: bytes | None
    key: bytes | None = b"clinic-a:c-1"
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Batch:
    raw_message: tuple[Record, ...]


def envelope(kind: Any, data: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        encode(kind.envelope(data, clinic_id="clinic-a", client_id="c-1", source="/t"))
    )
    return document


AGREED = envelope(
    GOALS_AGREED,
    GoalsAgreedV1(
        client_id="c-1",
        therapist_id="t-1",
        session_id="s-1",
        session_at=WHEN,
        goals=[Goal(goal_id="g-1", text=GOAL_TEXT)],
        agreed_at=WHEN,
    ),
)
CLOSED = envelope(
    GOAL_CLOSED,
    GoalClosedV1(
        client_id="c-1",
        therapist_id="t-1",
        session_id="s-2",
        session_at=WHEN,
        goal_id="g-1",
        outcome="dropped",
        closed_at=WHEN,
    ),
)
NOTE = envelope(
    NOTE_SHARED,
    NoteSharedV1(
        note_id="n-1",
        session_id="s-1",
        therapist_id="t-1",
        client_id="c-1",
        session_at=WHEN,
        text="We spoke about the goals.agreed last week",  # names a picked kind in its text
        shared_at=WHEN,
    ),
)
RATING = envelope(
    FEEDBACK_SUBMITTED,
    FeedbackSubmittedV1(
        session_id="s-1",
        therapist_id="t-1",
        client_id="c-1",
        session_at=WHEN,
        instrument="gbo",
        respondent="client",
        items={"goal_1": 7},
        submitted_at=WHEN,
    ),
)


def record(document: dict[str, Any], key: bytes | None = b"clinic-a:c-1") -> Record:
    return Record(json.dumps(document).encode(), key)


def test_each_picked_kind_is_decoded_as_itself() -> None:
    agreed, closed = PICKER.read(record(AGREED)), PICKER.read(record(CLOSED))
    assert agreed is not None and agreed.event is not None and isinstance(agreed.event.data, GoalsAgreedV1)
    # A v1 record's words are read as words in the clear, for the reader to seal before storing them.
    assert agreed.event.data.goals[0].text == f"clear:{GOAL_TEXT}"
    assert closed is not None and closed.event is not None and isinstance(closed.event.data, GoalClosedV1)


def test_every_other_record_is_passed_over_unjudged() -> None:
    for value in (
        json.dumps(RATING).encode(),
        json.dumps(NOTE).encode(),  # its bytes name goals.agreed, its type does not
        b"\x00\xff goals.agreed not json",
        b"",
        None,
        b'["goals.agreed"]',
        json.dumps({**AGREED, "type": "org.alliance.goals.agreed.later.v1"}).encode(),
    ):
        assert PICKER.read(Record(value)) is None, value


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (record({**AGREED, "data": {**AGREED["data"], "goals": []}}), "invalid goals.agreed v1"),
        (record({**CLOSED, "type": "org.alliance.goal.closed.v7"}), "unknown version v7"),
        (record(AGREED, key=None), "no key"),
        (record(CLOSED, key=b"clinic-a:c-2"), "not the event's subject"),
    ],
)
def test_a_record_that_names_a_picked_kind_but_is_none_is_refused_with_the_reason(
    bad: Record, reason: str
) -> None:
    read = PICKER.read(bad)
    assert read is not None and read.event is None and read.violation is not None
    assert reason in str(read.violation)
    assert GOAL_TEXT not in str(read.violation)


def test_a_batch_keeps_only_the_picked_records_in_their_order() -> None:
    batch = Batch((record(NOTE), record(CLOSED), record(RATING), record(AGREED)))
    picked = asyncio.run(PICKER.decode(batch))  # type: ignore[arg-type]
    assert [d.event.type for d in picked if d.event] == [CLOSED["type"], GOALS_AGREED.type_name()]


def test_a_kind_is_named_in_any_numbered_version_only() -> None:
    assert names_kind(GOALS_AGREED, "org.alliance.goals.agreed.v1")
    assert names_kind(GOALS_AGREED, "org.alliance.goals.agreed.v12")
    assert not names_kind(GOALS_AGREED, "org.alliance.goals.agreed.v")
    assert not names_kind(GOALS_AGREED, "org.alliance.goal.closed.v1")
    assert not names_kind(GOALS_AGREED, None)
