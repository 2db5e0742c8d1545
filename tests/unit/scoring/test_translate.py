"""The wire adapter: who a resolution is addressed to, and reading old rupture.resolved events."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from services.scoring.domain import (
    ClientHistory,
    NoteAnswered,
    NoteFit,
    NoteShared,
    RuptureResolved,
    RuptureSuspected,
    assess_client,
)
from services.scoring.translate import fact_from, manual_resolution_from, outbound
from shared.contracts import (
    NOTE_ANSWERED,
    NOTE_SHARED,
    RUPTURE_RESOLVED,
    RUPTURE_SUSPECTED,
    NoteAnsweredV2,
    NoteSharedV2,
)

from .builders import CLIENT, CLINIC, THERAPIST, srs


def test_a_repair_is_announced_to_the_episode_s_therapist_not_the_latest_one() -> None:
    facts = [srs(1, "38"), srs(2, "38"), srs(3, "29"), replace(srs(4, "37.5"), therapist_id="t-other")]
    assessment = assess_client(ClientHistory.of(CLINIC, CLIENT, facts))
    [resolved] = [e for e in assessment.timeline.events if isinstance(e, RuptureResolved)]

    kind, event = outbound(resolved, assessment)

    assert kind is RUPTURE_RESOLVED
    assert (event.data.therapist_id, event.id) == (THERAPIST, resolved.event_id)


def test_a_v1_resolution_is_upcast_and_cannot_recreate_a_manual_action() -> None:
    v1: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/old",
        "type": "org.alliance.rupture.resolved.v1",
        "clinicid": "clinic-1",
        "data": {
            "rupture_id": "r-1",
            "therapist_id": "t-7",
            "client_id": "c-1",
            "how": "manual",
            "resolved_at": "2026-11-20T10:00:00+00:00",
            "note": "talked",
        },
    }
    event = RUPTURE_RESOLVED.decode(json.dumps(v1))
    assert event.type == "org.alliance.rupture.resolved.v5" and event.data.resolved_by is None
    assert manual_resolution_from(event) is None
    v2 = {**v1, "type": "org.alliance.rupture.resolved.v2", "data": {**v1["data"], "resolved_by": "sup-1"}}
    resolution = manual_resolution_from(RUPTURE_RESOLVED.decode(json.dumps(v2)))
    assert resolution is not None
    # The note of a version without sealing comes marked as words in the clear, for whoever stores it to seal.
    assert (resolution.episode_id, resolution.resolved_by, resolution.note) == (
        "r-1",
        "sup-1",
        "clear:talked",
    )


def test_a_suspected_rupture_is_timed_by_the_rating_that_raised_it() -> None:
    assessment = assess_client(ClientHistory.of(CLINIC, CLIENT, [srs(1, "38"), srs(2, "38"), srs(3, "29")]))
    [suspected] = [e for e in assessment.timeline.events if isinstance(e, RuptureSuspected)]
    arrived = datetime(2026, 11, 20, 11, 5, tzinfo=UTC)

    kind, event = outbound(suspected, assessment, occurred_at=arrived)

    assert kind is RUPTURE_SUSPECTED
    assert event.time == arrived  # notify measures alert latency from this


def test_a_shared_note_and_its_answer_become_facts_without_their_words() -> None:
    common = {"note_id": "n-1", "session_id": "s-1", "therapist_id": "t-7", "client_id": "c-1"}
    at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    shared = NOTE_SHARED.envelope(
        NoteSharedV2(**common, session_at=at, text="clear:Next: the evening check-in.", shared_at=at),
        clinic_id=CLINIC,
        client_id="c-1",
        source="/t",
    )
    answered = NOTE_ANSWERED.envelope(
        NoteAnsweredV2(
            **common, session_at=at, fit="no", comment="clear:Not what I came for.", answered_at=at
        ),
        clinic_id=CLINIC,
        client_id="c-1",
        source="/t",
    )
    note, answer = fact_from(shared), fact_from(answered)
    assert isinstance(note, NoteShared) and note.note_id == "n-1"
    assert isinstance(answer, NoteAnswered) and answer.fit is NoteFit.NO
    assert "check-in" not in repr(note) and "came for" not in repr(answer)
