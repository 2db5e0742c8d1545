"""What leaves the intake: the latest version of each event, a person's words sealed for the event's own id
(deterministic, so a retried request is the same event), and nothing at all for an erased client. Also the
goals reader's side: erased clients' events dropped and counted, words in the clear sealed before storing."""

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from prometheus_client import REGISTRY
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.feedback.batch import _clients_named
from services.feedback.erasure import ClientErased
from services.feedback.goals.reader import sealed_unless_erased
from services.feedback.idempotency import Fingerprints
from services.feedback.sealing import Outgoing
from shared.contracts import (
    FEEDBACK_SUBMITTED,
    GOAL_CLOSED,
    GOALS_AGREED,
    NOTE_ANSWERED,
    NOTE_SHARED,
    SESSION_COMPLETED,
    FeedbackSubmittedV1,
    Goal,
    GoalClosedV1,
    GoalsAgreedV1,
    NoteAnsweredV1,
    NoteSharedV1,
    SessionCompletedV1,
    encode,
)
from shared.privacy.erasure import ErasedClients
from shared.privacy.keys import DataKeys, KeyEncryptionKeys
from shared.privacy.plumbing import Privacy
from shared.privacy.words import Words

AT = datetime(2026, 11, 20, 10, tzinfo=UTC)
KEKS = KeyEncryptionKeys.parse("k1:" + base64.b64encode(bytes(32)).decode())
COMMENT = "The last ten minutes felt rushed"


class FakeKeyCollection:
    """The little of a MongoDB collection ``DataKeys`` uses, in memory."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}

    async def find_one(self, query: dict[str, Any], *_: Any) -> dict[str, Any] | None:
        return self.documents.get(query["_id"])

    async def insert_one(self, document: dict[str, Any]) -> None:
        if document["_id"] in self.documents:
            raise DuplicateKeyError("duplicate")
        self.documents[document["_id"]] = document


class Purges:
    def __init__(self) -> None:
        self.clients: list[tuple[str, str]] = []

    async def client(self, clinic_id: str, client_id: str) -> None:
        self.clients.append((clinic_id, client_id))


def privacy() -> tuple[Privacy, FakeKeyCollection]:
    keys = FakeKeyCollection()
    data_keys = DataKeys(cast(AsyncCollection[Any], keys), KEKS)
    return Privacy(data_keys, Words(data_keys), ErasedClients()), keys


@pytest.fixture
def outgoing() -> Outgoing:
    return Outgoing(privacy()[0], Purges().client)


def rating(client_id: str = "c-1", comment: str | None = COMMENT) -> FeedbackSubmittedV1:
    return FeedbackSubmittedV1(
        session_id="s-1",
        therapist_id="t-1",
        client_id=client_id,
        session_at=AT,
        instrument="srs",
        respondent="client",
        items={"relationship": 9.0, "goals": 8.0, "approach": 8.0, "overall": 9.0},
        comment=comment,
        submitted_at=AT,
    )


async def test_a_comment_leaves_sealed_in_the_latest_version(outgoing: Outgoing) -> None:
    event = await outgoing.event(
        FEEDBACK_SUBMITTED, rating(), clinic_id="clinic-a", source="/t", event_id="e-1"
    )
    assert event.type == "org.alliance.feedback.submitted.v2"
    assert event.id == "e-1" and event.subject == "clinic-a:c-1"
    assert event.data.comment.startswith("aesgcm:")
    assert COMMENT.encode() not in encode(event)
    assert await outgoing.privacy.words.open_all("clinic-a", "c-1", event.data.comment) == COMMENT


async def test_the_same_event_id_gives_the_same_bytes_and_another_id_other_ones(outgoing: Outgoing) -> None:
    async def sent(event_id: str) -> bytes:
        event = await outgoing.event(
            FEEDBACK_SUBMITTED, rating(), clinic_id="clinic-a", source="/t", event_id=event_id, time=AT
        )
        assert event.time == AT
        return encode(event)

    first, again, other = await sent("e-1"), await sent("e-1"), await sent("e-2")
    assert first == again
    assert json.loads(first)["data"]["comment"] != json.loads(other)["data"]["comment"]


@pytest.mark.parametrize(
    ("kind", "data", "words"),
    [
        (
            NOTE_SHARED,
            NoteSharedV1(
                note_id="n-1",
                session_id="s-1",
                therapist_id="t-1",
                client_id="c-1",
                session_at=AT,
                text="Next: the evening check-in",
                shared_at=AT,
            ),
            "Next: the evening check-in",
        ),
        (
            NOTE_ANSWERED,
            NoteAnsweredV1(
                note_id="n-1",
                session_id="s-1",
                therapist_id="t-1",
                client_id="c-1",
                session_at=AT,
                fit="partly",
                comment="Only the first step",
                answered_at=AT,
            ),
            "Only the first step",
        ),
        (
            GOALS_AGREED,
            GoalsAgreedV1(
                client_id="c-1",
                therapist_id="t-1",
                session_id="s-1",
                session_at=AT,
                goals=[Goal(goal_id="g-1", text="Sleep through the night")],
                agreed_at=AT,
            ),
            "Sleep through the night",
        ),
    ],
)
async def test_every_kind_with_words_leaves_them_sealed(
    outgoing: Outgoing, kind: Any, data: Any, words: str
) -> None:
    event = await outgoing.event(kind, data, clinic_id="clinic-a", source="/t", event_id="e-1")
    assert event.type == kind.type_name()  # the latest version
    assert words.encode() not in encode(event)
    opened = await outgoing.privacy.words.open_all("clinic-a", "c-1", event.data.model_dump(mode="json"))
    assert words in json.dumps(opened)


async def test_an_event_without_words_needs_no_key() -> None:
    """A session record, or a rating without a comment: nothing to seal, so no data key is made."""
    private, keys = privacy()
    session = SessionCompletedV1(
        session_id="s-1",
        therapist_id="t-1",
        client_id="c-1",
        occurred_at=AT,
        attendance="attended",
        scheduled_minutes=50,
    )
    event = await Outgoing(private, Purges().client).event(
        SESSION_COMPLETED, session, clinic_id="clinic-a", source="/t", event_id="e-1"
    )
    assert event.type == "org.alliance.session.completed.v1" and keys.documents == {}
    silent = await Outgoing(private, Purges().client).event(
        FEEDBACK_SUBMITTED, rating(comment=None), clinic_id="clinic-a", source="/t", event_id="e-2"
    )
    assert silent.type == "org.alliance.feedback.submitted.v2" and silent.data.comment is None
    assert keys.documents == {}


async def test_nothing_leaves_for_an_erased_client_and_no_key_is_made_for_them() -> None:
    private, keys = privacy()
    private.erased.add("clinic-a", "c-1")
    with pytest.raises(ClientErased):
        await Outgoing(private, Purges().client).event(
            FEEDBACK_SUBMITTED, rating(), clinic_id="clinic-a", source="/t", event_id="e-1"
        )
    assert keys.documents == {}
    # Another clinic's client of the same pseudonym is another client.
    other = await Outgoing(private, Purges().client).event(
        FEEDBACK_SUBMITTED, rating(), clinic_id="clinic-b", source="/t", event_id="e-1"
    )
    assert other.clinicid == "clinic-b"


async def test_an_erasure_arriving_while_the_key_is_made_purges_again_and_refuses() -> None:
    private, keys = privacy()
    purges = Purges()
    insert = keys.insert_one

    async def erased_meanwhile(document: dict[str, Any]) -> None:
        await insert(document)
        private.erased.add("clinic-a", "c-1")  # the erasure arrives while the new key is written

    keys.insert_one = erased_meanwhile  # type: ignore[method-assign]
    with pytest.raises(ClientErased):
        await Outgoing(private, purges.client).event(
            FEEDBACK_SUBMITTED, rating(), clinic_id="clinic-a", source="/t", event_id="e-1"
        )
    assert purges.clients == [("clinic-a", "c-1")]  # which shreds the key just made


async def test_a_batch_fetches_the_keys_of_the_clients_whose_items_carry_words(outgoing: Outgoing) -> None:
    private = outgoing.privacy
    private.erased.add("clinic-a", "c-gone")
    session = SessionCompletedV1(
        session_id="s-1",
        therapist_id="t-1",
        client_id="c-sessions-only",
        occurred_at=AT,
        attendance="attended",
        scheduled_minutes=50,
    )
    items: list[tuple[Any, Any]] = [
        (FEEDBACK_SUBMITTED, rating("c-1")),
        (FEEDBACK_SUBMITTED, rating("c-2", comment=None)),
        (FEEDBACK_SUBMITTED, rating("c-gone")),
        (SESSION_COMPLETED, session),
    ]
    await outgoing.fetch_keys("clinic-a", items)
    keys = cast(FakeKeyCollection, private.keys.collection)
    assert sorted(keys.documents) == ["clinic-a:c-1"]  # c-2 wrote no comment: nothing to seal


def test_a_batch_names_every_client_its_items_name_valid_or_not() -> None:
    items: list[dict[str, Any]] = [
        {"type": "session.completed", "data": {"client_id": "c-1"}},
        {"type": "feedback.submitted", "data": {"client_id": "c-2", "items": {}}},
        {"type": "goals.agreed", "data": {"client_id": 7}},
        {"type": "rupture.suspected", "data": "not an object"},
        {"type": "note.shared"},
        {"type": "note.shared", "data": {"client_id": "c-1"}},
    ]
    assert _clients_named(items) == {"c-1", "c-2"}


def test_request_fingerprints_are_keyed_and_survive_a_kek_rotation() -> None:
    old = KeyEncryptionKeys.parse("k1:" + base64.b64encode(bytes(32)).decode())
    rotated = KeyEncryptionKeys.parse(
        "k2:" + base64.b64encode(bytes([1] * 32)).decode() + ",k1:" + base64.b64encode(bytes(32)).decode()
    )
    body = b'{"comment": "yes"}'
    [stored] = Fingerprints(old).of("POST", "/v1/feedback", body)
    now = Fingerprints(rotated).of("POST", "/v1/feedback", body)
    assert stored in now and now[0] != stored  # recognised after the rotation; stored anew under k2
    assert stored not in Fingerprints(rotated).of("POST", "/v1/feedback", b'{"comment": "no"}')
    plain = hashlib.sha256(b"\x1f".join([b"POST", b"/v1/feedback", body])).hexdigest()
    assert plain not in now  # a plain hash of the body would let guesses of a comment be tested


def dropped_by_feedback() -> float:
    found = REGISTRY.get_sample_value("alliance_erased_client_events_dropped_total", {"service": "feedback"})
    return found or 0.0


def goal_events(client_id: str) -> list[Any]:
    agreed = GOALS_AGREED.decode(  # a version 1 event, as an older system produced it straight to Kafka
        encode(
            GOALS_AGREED.envelope(
                GoalsAgreedV1(
                    client_id=client_id,
                    therapist_id="t-1",
                    session_id="s-1",
                    session_at=AT,
                    goals=[Goal(goal_id="g-1", text="Walk to work")],
                    agreed_at=AT,
                ),
                clinic_id="clinic-a",
                client_id=client_id,
                source="/t",
                event_id=f"agreed-{client_id}",
            )
        )
    )
    closed = GOAL_CLOSED.envelope(
        GoalClosedV1(
            client_id=client_id,
            therapist_id="t-1",
            session_id="s-2",
            session_at=AT,
            goal_id="g-1",
            outcome="met",
            closed_at=AT,
        ),
        clinic_id="clinic-a",
        client_id=client_id,
        source="/t",
    )
    return [agreed, closed]


async def test_the_goals_reader_seals_words_in_the_clear_and_drops_erased_clients_events() -> None:
    private, _ = privacy()
    private.erased.add("clinic-a", "c-gone")
    before = dropped_by_feedback()
    events = goal_events("c-1") + goal_events("c-gone")
    assert events[0].data.goals[0].text == "clear:Walk to work"  # upcast from version 1

    kept = await sealed_unless_erased(private, events)

    assert [event.data.client_id for event in kept] == ["c-1", "c-1"]
    assert dropped_by_feedback() == before + 2
    [goal] = kept[0].data.goals
    assert goal.text.startswith("aesgcm:") and b"Walk to work" not in encode(kept[0])
    assert await private.words.open_all("clinic-a", "c-1", goal.text) == "Walk to work"
    assert kept[1] == events[1]  # a closing carries no words
