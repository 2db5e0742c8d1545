"""Scoring reads a client's history from ``client.events`` (decoded by each record's type), still reads the
deprecated ``session.completed`` and ``feedback.submitted`` for one release, and dead-letters a record whose
type it does not read on ``client.events`` with a reason that says so."""

import json
from typing import Any

import pytest

from shared import topics
from shared.contracts import CloudEvent, encode
from tests.integration.scoring.conftest import Scoring, applied_count, dead_letters, eventually
from tests.integration.scoring.streams import ClientStream, Publisher

pytestmark = pytest.mark.integration


async def test_a_clients_history_on_client_events_is_applied_whatever_its_kinds(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    stream = ClientStream(f"clinic-{unique}", f"c-{unique}")
    # A rating before its session record, then a session record before its rating: both on one topic.
    history: list[CloudEvent[Any]] = [
        stream.srs(1, "38.5"),
        stream.session(1),
        stream.session(2),
        stream.srs(2, "38.0"),
    ]

    async with scoring.running():
        for event in history:
            await publisher.raw(topics.CLIENT_EVENTS.name, stream.key, encode(event))

        async def applied() -> bool:
            return await applied_count(scoring, stream.clinic_id, stream.client_id) == len(history)

        await eventually(applied)

    document = await scoring.client_doc(stream.clinic_id, stream.client_id)
    assert document is not None
    assert {e["id"] for e in document["events"]} == {event.id for event in history}


async def test_the_deprecated_topics_are_still_applied(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    stream = ClientStream(f"clinic-{unique}", f"c-{unique}")
    old: list[tuple[str, CloudEvent[Any]]] = [
        (topics.SESSION_COMPLETED.name, stream.session(1)),
        (topics.FEEDBACK_SUBMITTED.name, stream.srs(1, "38.5")),
    ]
    new = stream.srs(2, "38.0")

    async with scoring.running():
        for topic, event in old:
            await publisher.raw(topic, stream.key, encode(event))
        await publisher.raw(topics.CLIENT_EVENTS.name, stream.key, encode(new))

        async def applied() -> bool:
            return await applied_count(scoring, stream.clinic_id, stream.client_id) == 3

        await eventually(applied)

    document = await scoring.client_doc(stream.clinic_id, stream.client_id)
    assert document is not None
    assert {e["id"] for e in document["events"]} == {old[0][1].id, old[1][1].id, new.id}


async def test_an_unknown_type_on_client_events_is_dead_lettered_with_the_reason(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    stream = ClientStream(f"clinic-{unique}", f"c-{unique}")
    valid = stream.srs(1, "38")
    good = json.loads(encode(valid))
    unknown = {**good, "id": f"unknown-{unique}", "type": "org.alliance.mood.logged.v1"}
    not_read_here = {**good, "id": f"alert-{unique}", "type": "org.alliance.rupture.suspected.v1"}
    no_type = {key: value for key, value in good.items() if key != "type"} | {"id": f"none-{unique}"}
    newer = {**good, "id": f"v9-{unique}", "type": "org.alliance.feedback.submitted.v9"}
    # On a deprecated topic the one kind it carries decides, as before: another type there is refused too.
    misplaced = encode(stream.session(1))

    async with scoring.running():
        for poison in (unknown, not_read_here, no_type, newer):
            await publisher.raw(topics.CLIENT_EVENTS.name, stream.key, json.dumps(poison).encode())
        await publisher.raw(topics.FEEDBACK_SUBMITTED.name, stream.key, misplaced)
        await publisher.raw(topics.CLIENT_EVENTS.name, stream.key, encode(valid))

        async def applied() -> bool:
            return await applied_count(scoring, stream.clinic_id, stream.client_id) == 1

        await eventually(applied)
        dead, headers = await dead_letters(scoring, stream.key, expected=5)

    assert [h["x-dead-letter-reason"] for h in headers] == ["contract"] * 5
    assert [h["x-original-topic"] for h in headers] == [topics.CLIENT_EVENTS.name] * 4 + [
        topics.FEEDBACK_SUBMITTED.name
    ]
    details = [h["x-dead-letter-detail"] for h in headers]
    named_types = ("'org.alliance.mood.logged.v1'", "rupture.suspected", "None")
    for detail, named in zip(details[:3], named_types, strict=True):
        assert detail.startswith("unknown event type") and named in detail, detail
        assert "on topic client.events" in detail and "org.alliance.feedback.submitted" in detail, detail
    assert "unknown version v9 of feedback.submitted" in details[3]
    assert "unexpected event type 'org.alliance.session.completed.v1'" in details[4]
    assert dead[0].value == json.dumps(unknown).encode()  # the original bytes
    document = await scoring.client_doc(stream.clinic_id, stream.client_id)
    assert document is not None and [e["id"] for e in document["events"]] == [valid.id]
