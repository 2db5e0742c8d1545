"""The record a store keeps between batches: a batch works on a continuation of it, which a transaction that is
given up leaves behind without a trace on the kept record; the kept record holds documents, not decoded events."""

from datetime import UTC, datetime, timedelta
from typing import Any

from services.scoring import domain
from services.scoring.clients import ClientRecord, _document_of
from services.scoring.service import _apply, _inbound
from shared.contracts import FEEDBACK_SUBMITTED, NOTE_SHARED, CloudEvent, FeedbackSubmittedV2, NoteSharedV1

CLINIC, CLIENT = "clinic-1", "c-1"
T0 = datetime(2026, 1, 5, 10, tzinfo=UTC)


def rating(n: int, total: float) -> CloudEvent[Any]:
    data = FeedbackSubmittedV2(
        session_id=f"s{n}",
        therapist_id="t-1",
        client_id=CLIENT,
        session_at=T0 + timedelta(weeks=n),
        instrument="srs",
        respondent="client",
        items={name: total / 4 for name in ("relationship", "goals", "approach", "overall")},
        submitted_at=T0 + timedelta(weeks=n, hours=1),
    )
    return FEEDBACK_SUBMITTED.envelope(
        data, clinic_id=CLINIC, client_id=CLIENT, source="/t", event_id=f"r{n}"
    )


def note(n: int) -> CloudEvent[Any]:
    data = NoteSharedV1(
        note_id=f"n{n}",
        session_id=f"s{n}",
        therapist_id="t-1",
        client_id=CLIENT,
        session_at=T0 + timedelta(weeks=n),
        text="we worked on what to say at work",
        shared_at=T0 + timedelta(weeks=n, hours=2),
    )
    return NOTE_SHARED.envelope(data, clinic_id=CLINIC, client_id=CLIENT, source="/t", event_id=f"n{n}")


def saved(events: list[CloudEvent[Any]]) -> ClientRecord:
    record, latest = ClientRecord(CLINIC, CLIENT), None
    for event in events:
        change = _apply(record, event, _inbound(event), domain.Thresholds(), latest)
        assert change is not None
        latest = change[0]
    assert latest is not None
    _document_of(record, latest)  # what a save writes: each event as a document
    record.saved_with(latest)
    return record


def test_a_continuation_given_up_leaves_the_kept_record_as_it_was() -> None:
    kept = saved([rating(n, 38.0) for n in range(1, 6)])
    ids, history, assessed = list(kept.events), kept.history(), kept.assessed
    continued = kept.continued({"resolutions": [], "acknowledgements": [], "emitted": _no_announcements()})
    change = _apply(continued, rating(6, 30.0), _inbound(rating(6, 30.0)), domain.Thresholds(), assessed)
    assert change is not None and change[0].timeline.episodes  # the continuation judged the new rating
    assert list(kept.events) == ids
    assert kept.history() is history and kept.assessed is assessed
    assert list(continued.events) == [*ids, "r6"]


def test_a_kept_record_holds_documents_and_decodes_an_event_only_when_asked() -> None:
    events = [rating(1, 38.0), note(1), rating(2, 36.0)]
    kept = saved(events)
    stored = kept.events
    assert [stored.document(event_id)["id"] for event_id in stored] == ["r1", "n1", "r2"]
    assert stored._events["r1"] is None and stored._events["r2"] is None  # let go once stored
    assert stored._events["n1"] is not None  # its words are shown at every save
    assert stored["r2"] == events[2]  # decoded from its document when asked for
    assert [event.id for event in stored.of_kinds([NOTE_SHARED])] == ["n1"]


def _no_announcements() -> dict[str, list[Any]]:
    return {"alerted": [], "stale_alerted": [], "resolved": [], "from_history": []}
