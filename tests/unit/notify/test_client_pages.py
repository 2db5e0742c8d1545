"""The pure parts of client page links: the routing field, the plan, the body, and what notify reads of
client.events."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.notify.client_events import is_note_shared, read_note
from services.notify.client_pages import (
    ClientPageDelivery,
    client_page_body,
    client_page_delivery_id,
    plan_client_page,
)
from services.notify.routing import ClinicRouting
from shared.contracts import FEEDBACK_SUBMITTED, NOTE_SHARED, FeedbackSubmittedV2, NoteSharedV2, encode
from shared.privacy.words import seal

TEXT = "We practised saying no; next: try it once with your manager. secret-words-41"
DATA_KEY = bytes(range(32))
# As the feedback intake publishes it: the note's words sealed with the client's data key.
NOTE = NoteSharedV2(
    note_id="n-1",
    session_id="s-1",
    therapist_id="t-1",
    client_id="c-1",
    session_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
    text=seal(DATA_KEY, "clinic-a", "c-1", "e-note-1", TEXT),
    shared_at=datetime(2026, 11, 20, 11, tzinfo=UTC),
)


NOW = NOTE.shared_at + timedelta(minutes=1)


def routing(client_page: Any = None, **more: Any) -> ClinicRouting:
    return ClinicRouting.model_validate({"client_page": client_page, **more} if client_page else more)


# ---- the routing field --------------------------------------------------------------------------------


def test_client_page_is_off_unless_the_clinic_sets_it() -> None:
    assert ClinicRouting().client_page is None
    stored = routing({"webhook_url": "https://ehr.clinic.example/alliance/pages"})
    assert stored.client_page is not None
    assert str(stored.client_page.webhook_url) == "https://ehr.clinic.example/alliance/pages"
    assert stored.client_page.days is None  # the CLIENT_PAGE_DAYS default


@pytest.mark.parametrize(
    "client_page",
    [
        {},  # a route needs somewhere to go
        {"webhook_url": "not a url"},
        {"webhook_url": "ftp://ehr.clinic.example/pages"},
        {"webhook_url": "https://ehr.clinic.example/pages", "days": 0},
        {"webhook_url": "https://ehr.clinic.example/pages", "days": 366},
        {"webhook_url": "https://ehr.clinic.example/pages", "slack": True},  # no chat room gets client links
    ],
)
def test_a_bad_client_page_route_is_refused(client_page: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ClinicRouting.model_validate({"client_page": client_page})


def test_the_route_survives_storage() -> None:
    stored = routing({"webhook_url": "https://ehr.example/p", "days": 365})
    kept = stored.model_dump(mode="json", exclude_none=True)  # as RoutingStore keeps it
    assert kept["client_page"] == {"webhook_url": "https://ehr.example/p", "days": 365}
    assert ClinicRouting.model_validate(kept) == stored


# ---- the plan and the body ----------------------------------------------------------------------------


def test_no_link_is_owed_without_client_page_routing() -> None:
    assert plan_client_page("clinic-a", NOTE, None, NOW) is None
    alerts_only = routing(therapists=[{"therapist_id": "t-1", "webhook_url": "https://hooks.example/t1"}])
    assert plan_client_page("clinic-a", NOTE, alerts_only, NOW) is None


def test_a_link_is_planned_to_the_clinics_system_once_per_note() -> None:
    routed = routing({"webhook_url": "https://ehr.example/p", "days": 7})
    planned = plan_client_page("clinic-a", NOTE, routed, NOW)
    assert planned is not None
    assert (planned.webhook_url, planned.days) == ("https://ehr.example/p", 7)
    # A redelivered note, or the same note produced twice, plans the same id; another note or clinic does not.
    assert planned == plan_client_page("clinic-a", NOTE.model_copy(update={"text": "changed"}), routed, NOW)
    assert planned.delivery_id == client_page_delivery_id("clinic-a", "n-1")
    other_note = plan_client_page("clinic-a", NOTE.model_copy(update={"note_id": "n-2"}), routed, NOW)
    other_clinic = plan_client_page("clinic-b", NOTE, routed, NOW)
    assert other_note is not None and other_clinic is not None
    assert len({planned.delivery_id, other_note.delivery_id, other_clinic.delivery_id}) == 3


def test_a_note_older_than_the_news_horizon_is_history_and_owes_no_link() -> None:
    routed = routing({"webhook_url": "https://ehr.example/p"})
    assert plan_client_page("clinic-a", NOTE, routed, NOTE.shared_at + timedelta(days=14)) is not None
    assert plan_client_page("clinic-a", NOTE, routed, NOTE.shared_at + timedelta(days=14, seconds=1)) is None


def test_the_body_names_the_note_and_the_link_but_never_its_text() -> None:
    link = ClientPageDelivery(
        delivery_id="d-1",
        clinic_id="clinic-a",
        client_id="c-1",
        note_id="n-1",
        session_id="s-1",
        webhook_url="https://ehr.example/p",
        page_url="https://views.example/c/token",
        expires_at=datetime(2026, 12, 20, 11, tzinfo=UTC),
        attempts=1,
        event_id="e-1",
    )
    body = client_page_body(link)
    assert body == {
        "type": "client_page.link",
        "delivery_id": "d-1",
        "clinic_id": "clinic-a",
        "client_id": "c-1",
        "note_id": "n-1",
        "session_id": "s-1",
        "url": "https://views.example/c/token",
        "expires_at": "2026-12-20T11:00:00+00:00",
    }
    assert TEXT not in json.dumps(body) and "ehr.example" not in json.dumps(body)


# ---- what notify reads of client.events ---------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """The fields of a consumed record that reading looks at (a structured record: no ``ce_`` headers)."""

    value: bytes | None
    key: bytes | None = b"clinic-a:c-1"
    headers: tuple[tuple[str, bytes], ...] = ()


def note_event(**changes: Any) -> dict[str, Any]:
    event = NOTE_SHARED.envelope(NOTE, clinic_id="clinic-a", client_id="c-1", source="/tests")
    document: dict[str, Any] = json.loads(encode(event))
    return {**document, **changes}


def test_a_note_is_read_with_its_event() -> None:
    read = read_note(Record(json.dumps(note_event()).encode()))
    assert read is not None and read.violation is None and read.event is not None
    assert read.event.data == NOTE and read.event.clinicid == "clinic-a"


def test_a_note_of_version_1_is_read_with_its_words_marked_clear_to_be_sealed() -> None:
    """An older producer's note carries its words in the clear: notify reads it all the same (it keeps no
    words), as version 2 with the words marked ``clear:``."""
    document = note_event(
        type="org.alliance.note.shared.v1",
        dataschema="urn:alliance:schema:note.shared.v1",
        data={**note_event()["data"], "text": TEXT},
    )
    read = read_note(Record(json.dumps(document).encode()))
    assert read is not None and read.violation is None and read.event is not None
    assert isinstance(read.event.data, NoteSharedV2) and read.event.data.text == f"clear:{TEXT}"


def test_everything_else_on_the_topic_is_passed_over_unjudged() -> None:
    rating = FEEDBACK_SUBMITTED.envelope(
        FeedbackSubmittedV2(
            session_id="s-1",
            therapist_id="t-1",
            client_id="c-1",
            session_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
            instrument="srs",
            respondent="client",
            items={"relationship": 9, "goals": 9, "approach": 9, "overall": 9},
            submitted_at=datetime(2026, 11, 20, 11, tzinfo=UTC),
        ),
        clinic_id="clinic-a",
        client_id="c-1",
        source="/tests",
    )
    for value in (
        encode(rating),
        b"\x00\xff not json",
        b"",
        None,
        b"[1, 2]",
        json.dumps(note_event(type="org.alliance.note.answered.v1", data={})).encode(),
        json.dumps(note_event(type="org.alliance.note.shared.verbose.v1")).encode(),
    ):
        assert read_note(Record(value)) is None, value


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (Record(json.dumps(note_event(data={"note_id": "n-1"})).encode()), "invalid note.shared v2"),
        (Record(json.dumps(note_event(type="org.alliance.note.shared.v9")).encode()), "unknown version v9"),
        (Record(json.dumps(note_event()).encode(), key=None), "no key"),
        (Record(json.dumps(note_event()).encode(), key=b"clinic-a:c-2"), "not the event's subject"),
    ],
)
def test_a_record_that_says_note_but_is_none_is_refused_with_the_reason(record: Record, reason: str) -> None:
    read = read_note(record)
    assert read is not None and read.event is None and read.violation is not None
    assert reason in str(read.violation)
    assert TEXT not in str(read.violation)


def test_only_numbered_versions_of_note_shared_count_as_notes() -> None:
    assert is_note_shared("org.alliance.note.shared.v1") and is_note_shared("org.alliance.note.shared.v12")
    assert not is_note_shared("org.alliance.note.shared.v") and not is_note_shared(None)
    assert not is_note_shared("org.alliance.note.answered.v1")
