import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from shared import topics
from shared.contracts import (
    ALL_KINDS,
    CLIENT_HISTORY,
    FEEDBACK_SUBMITTED,
    RUPTURE_ACKNOWLEDGED,
    RUPTURE_RESOLVED,
    RUPTURE_SUSPECTED,
    SESSION_COMPLETED,
    STORED,
    ContractViolation,
    EventKind,
    FeedbackSubmittedV1,
    derived_event_id,
    encode,
)
from shared.contracts.schemas import SCHEMA_DIR, generate
from shared.privacy.words import seal

AT = "2026-11-20T10:00:00+00:00"
SRS = {"relationship": 9.1, "goals": 8.4, "approach": 8.8, "overall": 8.9}


def sealed(words: str) -> str:
    """The words as the latest versions carry them: sealed with a client's data key (here a fixed one)."""
    return seal(bytes(32), "demo", "c-311", "e-example", words)


EXAMPLES: dict[str, dict[str, Any]] = {
    "session.completed": {
        "session_id": "s-104",
        "therapist_id": "t-7",
        "client_id": "c-311",
        "occurred_at": AT,
        "attendance": "attended",
        "scheduled_minutes": 50,
        "attended_minutes": 48,
    },
    "feedback.submitted": {
        "session_id": "s-104",
        "therapist_id": "t-7",
        "client_id": "c-311",
        "session_at": AT,
        "instrument": "srs",
        "respondent": "client",
        "items": SRS,
        "comment": sealed("felt rushed today"),
        "submitted_at": AT,
    },
    "note.shared": {
        "note_id": "n-104",
        "session_id": "s-104",
        "therapist_id": "t-7",
        "client_id": "c-311",
        "session_at": AT,
        "text": sealed("Next: the evening check-in, twice this week."),
        "shared_at": AT,
    },
    "note.answered": {
        "note_id": "n-104",
        "session_id": "s-104",
        "therapist_id": "t-7",
        "client_id": "c-311",
        "session_at": AT,
        "fit": "partly",
        "comment": sealed("the check-in, yes; the rest, not yet"),
        "answered_at": AT,
    },
    "goals.agreed": {
        "client_id": "c-311",
        "therapist_id": "t-7",
        "session_id": "s-104",
        "session_at": AT,
        "goals": [
            {"goal_id": "g-1", "text": sealed("Sleep through most nights")},
            {"goal_id": "g-2", "text": sealed("Speak up at work meetings")},
        ],
        "agreed_at": AT,
    },
    "goal.closed": {
        "client_id": "c-311",
        "therapist_id": "t-7",
        "session_id": "s-109",
        "session_at": AT,
        "goal_id": "g-1",
        "outcome": "met",
        "closed_at": AT,
    },
    "trajectories.fitted": {
        "scope": "clinic",
        "model_version": "demo@2026-11-28T03:00:00Z",
        "fitted_at": AT,
        "clients": 412,
        "bands": [{"band": "15-19.9", "b": 4.1, "lower_offset": -1.4, "clients": 96, "observations": 612}],
    },
    "rupture.suspected": {
        "rupture_id": "r-1",
        "therapist_id": "t-7",
        "client_id": "c-311",
        "session_id": "s-104",
        "session_at": AT,
        "severity": "medium",
        "markers": [
            {"code": "below_cutoff", "family": "score", "level": "medium", "value": 30, "threshold": 36}
        ],
        "srs_total": 30.0,
        "baseline": 37.5,
    },
    "rupture.resolved": {
        "rupture_id": "r-1",
        "therapist_id": "t-7",
        "client_id": "c-311",
        "how": "repaired",
        "sessions_to_repair": 2,
        "resolved_at": AT,
    },
    "notification.sent": {
        "delivery_id": "d-1",
        "rupture_id": "r-1",
        "therapist_id": "t-7",
        "client_id": "c-311",
        "severity": "medium",
        "reason": "alert",
        "channel": "webhook",
        "recipient_kind": "therapist",
        "attempts": 1,
        "sent_at": AT,
    },
    "notification.failed": {
        "delivery_id": "d-1",
        "rupture_id": "r-1",
        "therapist_id": "t-7",
        "client_id": "c-311",
        "severity": "medium",
        "reason": "alert",
        "channel": "webhook",
        "recipient_kind": "therapist",
        "attempts": 12,
        "error": "webhook answered 503",
        "failed_at": AT,
    },
    "client.erased": {
        "client_id": "c-311",
        "erased_at": "2026-11-21T09:00:00+00:00",
        "by": "key:3f9a1c0b2d4e",
    },
    "clinic.key": {
        "key_hash": "a" * 64,
        "clinic_id": "demo",
        "scopes": ["ingest", "read"],
        "revoked": False,
        "changed_at": AT,
    },
    "rupture.acknowledged": {
        "rupture_id": "r-1",
        "therapist_id": "t-7",
        "client_id": "c-311",
        "acknowledged_by": "t-7",
        "acknowledged_at": AT,
        "via": "link",
    },
    "alliance.updated": {
        "client_id": "c-311",
        "therapist_id": "t-7",
        "caused_by": "e-1",
        "session_count": 3,
        "latest_session_id": "s-104",
        "latest_session_at": AT,
        "latest_srs_total": 29.0,
        "baseline": 35.0,
        "trend": -4.5,
        "latest_severity": "high",
        "open_rupture_id": "r-1",
        "open_rupture_severity": "high",
    },
}


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda kind: kind.name)
def test_every_event_round_trips_through_its_envelope(kind: EventKind[Any]) -> None:
    data = kind.model.model_validate(EXAMPLES[kind.name])
    event = kind.envelope(data, clinic_id="demo", client_id="c-311", source="/tests")

    decoded = kind.decode(encode(event))

    assert decoded == event
    assert decoded.type == f"org.alliance.{kind.name}.v{kind.latest_version}"
    assert decoded.subject == "demo:c-311"
    assert json.loads(encode(event))["specversion"] == "1.0"


def test_a_clients_history_shares_one_topic_every_other_kind_has_its_own_and_the_stack_creates_them() -> None:
    history = [kind for kind in ALL_KINDS if kind.topic == topics.CLIENT_EVENTS]
    assert tuple(history) == CLIENT_HISTORY  # what scoring reads as facts, live and in a replay
    assert {kind.name for kind in history} == {
        "session.completed",
        "feedback.submitted",
        "note.shared",
        "note.answered",
        "goals.agreed",
        "goal.closed",
    }
    names = [kind.topic.name for kind in ALL_KINDS if kind not in history]
    assert len(set(names)) == len(names) and topics.CLIENT_EVENTS.name not in names
    consumed = {topic.name for kind in ALL_KINDS for topic in kind.consumed_topics}
    assert consumed <= {topic.name for topic in topics.ALL_TOPICS}
    assert topics.DEAD_LETTER in topics.ALL_TOPICS


def test_checked_in_schemas_are_fresh() -> None:
    generated = generate()
    on_disk = {path.name: path.read_text() for path in SCHEMA_DIR.glob("*.json")}
    assert on_disk == generated, "schemas/ is stale: run `make schemas` and commit the result"


def _envelope(kind: EventKind[Any], **overrides: Any) -> dict[str, Any]:
    event = kind.envelope(
        kind.model.model_validate(EXAMPLES[kind.name]), clinic_id="demo", client_id="c-311", source="/t"
    )
    return {**json.loads(encode(event)), **overrides}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (
            json.dumps(_envelope(FEEDBACK_SUBMITTED, type="org.alliance.session.completed.v1")),
            "unexpected event type",
        ),
        (
            json.dumps(_envelope(FEEDBACK_SUBMITTED, type="org.alliance.feedback.submitted.v9")),
            "unknown version v9",
        ),
        (json.dumps(_envelope(FEEDBACK_SUBMITTED, data="x")), "no JSON object in 'data'"),
        (json.dumps(_envelope(FEEDBACK_SUBMITTED, specversion="0.3")), "specversion"),
        (json.dumps(_envelope(FEEDBACK_SUBMITTED, clinicid="a$b")), "clinicid"),
    ],
    ids=["bytes", "array", "wrong-type", "future-version", "data-not-object", "specversion", "clinic-id"],
)
def test_undecodable_messages_are_contract_violations_with_a_reason(raw: bytes | str, reason: str) -> None:
    with pytest.raises(ContractViolation, match=reason):
        FEEDBACK_SUBMITTED.decode(raw)


def test_a_violation_never_echoes_the_comment() -> None:
    envelope = _envelope(FEEDBACK_SUBMITTED)
    envelope["data"] = {**envelope["data"], "comment": "secret words " * 300}
    with pytest.raises(ContractViolation) as caught:
        FEEDBACK_SUBMITTED.decode(json.dumps(envelope))
    assert "comment" in str(caught.value)
    assert "secret words" not in str(caught.value)


@pytest.mark.parametrize(
    ("instrument", "items", "message"),
    [
        ("srs", {**SRS, "overall": 10.1}, "items.overall: out of range 0-10"),
        ("srs", {**SRS, "overall": -0.1}, "items.overall: out of range 0-10"),
        ("srs", {k: v for k, v in SRS.items() if k != "goals"}, "items.goals: missing"),
        ("srs", {**SRS, "mood": 5.0}, "items.mood: unknown item"),
        ("srs", {**SRS, "overall": 8.25}, "items.overall: at most one decimal"),
        ("ors", SRS, "items.individual: missing"),
        ("wai_sr", {f"q{i}": 3 for i in range(1, 13)} | {"q5": 3.5}, "items.q5: must be an integer"),
        ("wai_sr", {f"q{i}": 3 for i in range(1, 13)} | {"q5": 6}, "items.q5: out of range 1-5"),
        ("phq9", SRS, "instrument"),
    ],
    ids=[
        "above",
        "below",
        "missing",
        "extra",
        "two-decimals",
        "wrong-instrument",
        "wai-fraction",
        "wai-range",
        "unknown",
    ],
)
def test_items_are_validated_strictly(instrument: str, items: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FeedbackSubmittedV1.model_validate(
            {**EXAMPLES["feedback.submitted"], "instrument": instrument, "items": items}
        )


def test_a_stored_rating_is_not_checked_against_its_instrument_again_but_keeps_its_types() -> None:
    # Checked once, on arrival; scoring checks the items again where it scores them (``validate_scores``).
    out_of_range = {**EXAMPLES["feedback.submitted"], "items": {**SRS, "overall": 10.1}}
    assert FeedbackSubmittedV1.model_validate(out_of_range, context=STORED).items["overall"] == 10.1
    with pytest.raises(ValidationError, match="out of range"):
        FeedbackSubmittedV1.model_validate(out_of_range)
    with pytest.raises(ValidationError):
        FeedbackSubmittedV1.model_validate({**out_of_range, "items": {**SRS, "goals": "9"}}, context=STORED)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), True, "9"], ids=["nan", "inf", "bool", "string"])
def test_item_values_must_be_finite_numbers(bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        FeedbackSubmittedV1.model_validate({**EXAMPLES["feedback.submitted"], "items": {**SRS, "goals": bad}})
    assert caught.value.errors()[0]["loc"] == ("items", "goals")


@pytest.mark.parametrize("bad_id", ["", "a" * 65, "$where", "a.b$", "c\n1", "c 1", "ü"])
def test_ids_refuse_operators_control_characters_and_oversize(bad_id: str) -> None:
    with pytest.raises(ValidationError, match="client_id"):
        FeedbackSubmittedV1.model_validate({**EXAMPLES["feedback.submitted"], "client_id": bad_id})


def test_timestamps_need_an_offset() -> None:
    with pytest.raises(ValidationError, match="session_at"):
        FeedbackSubmittedV1.model_validate(
            {**EXAMPLES["feedback.submitted"], "session_at": "2026-11-20T10:00:00"}
        )


def test_derived_event_ids_are_deterministic_and_distinct() -> None:
    assert derived_event_id("demo", "c-1", "e-1") == derived_event_id("demo", "c-1", "e-1")
    assert derived_event_id("demo", "c-1", "e-1") != derived_event_id("demo", "c-1", "e-2")
    assert derived_event_id("a", "bc") != derived_event_id("ab", "c")


class _NoteV1(BaseModel):
    text: str


class _NoteV2(BaseModel):
    text: str
    language: str


class _NoteV3(BaseModel):
    body: str
    language: str


def test_old_versions_are_upcast_step_by_step_to_the_latest() -> None:
    kind: EventKind[_NoteV3] = EventKind(
        "note.written",
        topics.Topic("note.written", 1),
        (_NoteV1, _NoteV2, _NoteV3),
        (
            lambda data: {**data, "language": "en"},
            lambda data: {"body": data["text"], "language": data["language"]},
        ),
    )
    v1 = {
        "specversion": "1.0",
        "id": "n-1",
        "source": "/t",
        "type": "org.alliance.note.written.v1",
        "time": datetime(2026, 11, 20, tzinfo=UTC).isoformat(),
        "clinicid": "demo",
        "data": {"text": "hello"},
    }

    decoded = kind.decode(json.dumps(v1))

    assert decoded.type == "org.alliance.note.written.v3"
    assert decoded.data == _NoteV3(body="hello", language="en")
    with pytest.raises(ContractViolation, match=r"invalid note\.written v1"):
        kind.decode(json.dumps({**v1, "data": {"txt": "typo"}}))


def test_a_kind_needs_an_upcaster_between_each_pair_of_versions() -> None:
    with pytest.raises(ValueError, match="upcaster"):
        EventKind("note.written", topics.Topic("note.written", 1), (_NoteV1, _NoteV2))


@pytest.mark.parametrize(
    "kind", [SESSION_COMPLETED, RUPTURE_SUSPECTED, RUPTURE_RESOLVED, RUPTURE_ACKNOWLEDGED]
)
def test_extra_fields_are_refused(kind: EventKind[Any]) -> None:
    with pytest.raises(ValidationError, match="unexpected"):
        kind.model.model_validate({**EXAMPLES[kind.name], "unexpected": 1})
