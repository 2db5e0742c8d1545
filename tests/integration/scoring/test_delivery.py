"""Exactly-once effects of the scoring service on the real Kafka and MongoDB: duplicates, a restart in the
middle of a stream, and messages that can never be processed."""

import json
from collections import Counter
from typing import Any

import pytest

from shared import topics
from shared.contracts import RUPTURE_RESOLVED, RUPTURE_SUSPECTED, CloudEvent, encode
from tests.integration.scoring.conftest import Scoring, applied_count, dead_letters, eventually
from tests.integration.scoring.streams import ClientStream, Publisher
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration


async def feed(
    scoring: Scoring, publisher: Publisher, stream: ClientStream, events: list[CloudEvent[Any]]
) -> None:
    """Publish each event twice (an exact duplicate) and wait until it is applied, one after the other, so
    the intermediate states (and so the alerts) are those of in-order arrival."""
    for event in events:
        before = await applied_count(scoring, stream.clinic_id, stream.client_id)
        await publisher.event(event, times=2)

        async def applied(before: int = before) -> bool:
            return await applied_count(scoring, stream.clinic_id, stream.client_id) > before

        await eventually(applied)


async def test_duplicates_and_a_restart_yield_one_alert_per_episode_and_level(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    clinic = f"clinic-{unique}"
    a, b = ClientStream(clinic, f"a-{unique}"), ClientStream(clinic, f"b-{unique}")
    # a: 31 (below the cutoff: medium, opens), 28 (high), 38 (repaired), 30 (a second episode, high).
    # b: 38, then 29 (high).
    Part = list[tuple[ClientStream, list[CloudEvent[Any]]]]
    first_half: Part = [
        (a, [a.srs(1, "31"), a.session(1), a.srs(2, "28"), a.session(2)]),
        (b, [b.srs(1, "38")]),
    ]
    second_half: Part = [
        (a, [a.srs(3, "38"), a.session(3), a.srs(4, "30"), a.session(4)]),
        (b, [b.srs(2, "29")]),
    ]

    async with scoring.running():
        for stream, events in first_half:
            await feed(scoring, publisher, stream, events)
    async with scoring.running():  # a new instance in the same group: continues from the committed offsets
        for _, events in first_half:
            for event in events:
                await publisher.event(event)  # redelivered after the restart: must change nothing
        for stream, events in second_half:
            await feed(scoring, publisher, stream, events)

        def ours(record: Any) -> bool:
            return bool(record.key.decode().startswith(f"{clinic}:"))

        suspected = await records_matching(
            scoring.bootstrap, topics.RUPTURE_SUSPECTED.name, ours, expected=4, within=20, settle=2
        )
        resolved = await records_matching(
            scoring.bootstrap, topics.RUPTURE_RESOLVED.name, ours, expected=1, within=10, settle=1
        )

    alerts = [RUPTURE_SUSPECTED.decode(record.value) for record in suspected]
    per_level = Counter((e.data.rupture_id, e.data.severity.value, e.data.stale) for e in alerts)
    assert all(count == 1 for count in per_level.values()), per_level
    assert sorted((e.data.client_id, e.data.session_id, e.data.severity.value) for e in alerts) == sorted(
        [
            (a.client_id, "s01", "medium"),
            (a.client_id, "s02", "high"),
            (a.client_id, "s04", "high"),
            (b.client_id, "s02", "high"),
        ]
    )
    assert len({e.data.rupture_id for e in alerts if e.data.client_id == a.client_id}) == 2
    [repair] = [RUPTURE_RESOLVED.decode(record.value) for record in resolved]
    assert (repair.data.how, repair.data.sessions_to_repair) == ("repaired", 2)
    document = await scoring.client_doc(clinic, a.client_id)
    assert document is not None and len(document["events"]) == 8
    assert [e["severity"] for e in document["alliance"]["past_episodes"]] == ["high"]
    assert document["alliance"]["open_episode"]["severity"] == "high"


async def test_invalid_messages_are_dead_lettered_with_a_reason_and_processing_goes_on(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    stream = ClientStream(f"clinic-{unique}", f"c-{unique}")
    valid = stream.srs(1, "38")
    good = json.loads(encode(valid))
    out_of_range = {
        **good,
        "id": f"range-{unique}",
        "data": {**good["data"], "items": {**good["data"]["items"], "goals": 11}},
    }
    unknown_version = {**good, "id": f"v9-{unique}", "type": "org.alliance.feedback.submitted.v9"}
    topic = topics.FEEDBACK_SUBMITTED.name

    async with scoring.running():
        await publisher.raw(topic, stream.key, b"\xff\xfe this is not JSON")
        await publisher.raw(topic, stream.key, json.dumps(out_of_range).encode())
        await publisher.raw(topic, stream.key, json.dumps(unknown_version).encode())
        await publisher.event(valid)

        async def applied() -> bool:
            return await applied_count(scoring, stream.clinic_id, stream.client_id) == 1

        await eventually(applied)
        dead, headers = await dead_letters(scoring, stream.key, expected=3)

    assert [h["x-dead-letter-reason"] for h in headers] == ["contract"] * 3
    assert {h["x-original-topic"] for h in headers} == {topic}
    details = [h["x-dead-letter-detail"] for h in headers]
    assert "not JSON" in details[0]
    assert "items" in details[1] and "goals" in details[1]
    assert "unknown version v9" in details[2]
    assert dead[0].value == b"\xff\xfe this is not JSON"  # the original bytes, untouched
    document = await scoring.client_doc(stream.clinic_id, stream.client_id)
    assert document is not None and [e["id"] for e in document["events"]] == [valid.id]


async def test_a_refused_event_inside_a_batch_is_dead_lettered_alone_and_the_rest_applied(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    a, b = ClientStream(f"clinic-{unique}", f"a-{unique}"), ClientStream(f"clinic-{unique}", f"b-{unique}")
    first = a.srs(1, "38")
    reused = json.loads(encode(a.srs(1, "31")))  # the same event id with other content: refused by scoring
    async with scoring.running():
        pass  # the test's group now starts here
    # Published while the service is down, so that one poll (one batch, one transaction) holds them all.
    await publisher.event(first)
    await publisher.raw(topics.FEEDBACK_SUBMITTED.name, a.key, json.dumps(reused).encode())
    await publisher.event(a.srs(2, "37"))
    await publisher.event(b.srs(1, "36"))

    async with scoring.running():

        async def applied() -> bool:
            return (
                await applied_count(scoring, a.clinic_id, a.client_id),
                await applied_count(scoring, b.clinic_id, b.client_id),
            ) == (2, 1)

        await eventually(applied)
        dead = await records_matching(
            scoring.bootstrap,
            topics.DEAD_LETTER.name,
            lambda r: r.key == a.key,
            expected=1,
            within=15,
            settle=1,
        )

    [headers] = [{name: value.decode() for name, value in record.headers} for record in dead]
    assert headers["x-dead-letter-reason"] == "contract"
    assert "already applied with other content" in headers["x-dead-letter-detail"]
    document = await scoring.client_doc(a.clinic_id, a.client_id)
    assert document is not None
    assert [e["data"]["items"] for e in document["events"] if e["id"] == first.id] == [
        first.data.model_dump(mode="json")["items"]
    ]
