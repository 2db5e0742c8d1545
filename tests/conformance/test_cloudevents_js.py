"""CloudEvents on Kafka between the platform and the official JavaScript SDK (npm ``cloudevents`` over kafkajs).

The SDK reads what the platform publishes, every attribute intact; and what the SDK writes, in structured and in
binary mode, is read back here byte for byte: the Kafka binding's headers, value, key and timestamp. The script
that drives the SDK is node/cloudevents-kafka.mjs.
"""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import DefaultPartitioner

from services.scoring.settings import ScoringSettings
from shared import topics
from shared.contracts import (
    RUPTURE_SUSPECTED,
    SESSION_COMPLETED,
    Attendance,
    CloudEvent,
    MarkerV2,
    RuptureSuspectedV4,
    SessionCompletedV1,
    Severity,
    encode,
)
from shared.contracts.binding import ContentMode
from shared.messaging import make_broker, publish_event
from tests.conformance.node import run_node
from tests.support.kafka import records_matching
from tests.support.servers import Servers

pytestmark = pytest.mark.integration

SCRIPT = "cloudevents-kafka.mjs"
SOURCE = "/conformance/cloudevents-js"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
SESSION_AT = datetime(2026, 5, 4, 10, tzinfo=UTC)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def to_the_millisecond(moment: datetime) -> datetime:
    """What a JavaScript ``Date`` keeps of a time: the SDK parses ``time`` into one and writes it back."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def rupture(clinic: str, client: str) -> CloudEvent[Any]:
    marker = MarkerV2(code="steep_drop", family="change", level=Severity.HIGH, value=28.0, threshold=30.0)
    data = RuptureSuspectedV4(
        rupture_id=f"r-{uuid.uuid4().hex[:8]}",
        therapist_id="t-conformance",
        client_id=client,
        session_id=f"{client}-s1",
        session_at=SESSION_AT,
        severity=Severity.HIGH,
        markers=[marker],
        srs_total=28.0,
        baseline=36.5,
    )
    return RUPTURE_SUSPECTED.envelope(data, clinic_id=clinic, client_id=client, source="/scoring")


@pytest.mark.parametrize("mode", ["structured", "binary"])
async def test_the_sdk_reads_every_attribute_of_the_rupture_alerts_the_platform_publishes(
    servers: Servers, unique: str, mode: ContentMode
) -> None:
    clinic = f"cejs-{mode}-{unique}"
    published = [rupture(clinic, f"c-{n}-{unique}") for n in (1, 2)]
    settings = ScoringSettings(kafka_bootstrap_servers=servers.kafka_bootstrap, event_content_mode=mode)
    broker = make_broker(settings, "conformance")
    await broker.connect()
    try:
        for event in published:
            await publish_event(broker, RUPTURE_SUSPECTED, event)
    finally:
        await broker.stop()
    # The records really are in the mode asked for: the binding's own test is a ce_specversion header.
    records = await records_matching(
        servers.kafka_bootstrap,
        RUPTURE_SUSPECTED.topic.name,
        lambda r: r.key in {event.subject.encode() for event in published if event.subject},
        expected=len(published),
    )
    assert len(records) == len(published)
    assert {("ce_specversion" in dict(r.headers)) == (mode == "binary") for r in records} == {True}

    read = await run_node(
        SCRIPT,
        {
            "action": "consume",
            "bootstrap": servers.kafka_bootstrap,
            "topic": RUPTURE_SUSPECTED.topic.name,
            "where": {"clinicid": clinic},
            "expected": len(published),
            "within": 60,
        },
        within=90,
    )

    by_id = {event["id"]: event for event in read["events"]}
    assert set(by_id) == {event.id for event in published}
    for event in published:
        sent, seen = json.loads(encode(event)), by_id[event.id]
        # Every attribute and the data as the platform wrote them, and only those, besides the record key the
        # binding hands over as the ``partitionkey`` extension.
        assert {k: v for k, v in seen.items() if k not in ("time", "partitionkey")} == {
            k: v for k, v in sent.items() if k != "time"
        }
        assert {"id", "type", "source", "subject", "clinicid", "dataschema", "data"} <= set(seen)
        assert instant(seen["time"]) == to_the_millisecond(event.time)
        assert seen["partitionkey"] == event.subject


# ---- what the SDK writes ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def topic(servers: Servers) -> AsyncIterator[str]:
    """A topic of its own, partitioned like client.events, deleted afterwards."""
    name = f"conformance.cloudevents-js.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, topics.CLIENT_EVENTS.partitions, 1)])
        yield name
    finally:
        await admin.delete_topics([name])
        await admin.close()


def session_events(clinic: str, clients: list[str]) -> list[dict[str, Any]]:
    """Session records as a partner's JavaScript system would send them: the platform's own envelope, keyed
    ``clinic:client`` through the ``partitionkey`` extension."""
    events = []
    for number, client in enumerate(clients, start=1):
        data = SessionCompletedV1(
            session_id=f"{client}-s{number}",
            therapist_id="t-conformance",
            client_id=client,
            occurred_at=SESSION_AT + timedelta(days=number),
            attendance=Attendance.ATTENDED,
            scheduled_minutes=50,
        )
        envelope = SESSION_COMPLETED.envelope(
            data, clinic_id=clinic, client_id=client, source=SOURCE, time=SESSION_AT + timedelta(hours=number)
        )
        document = json.loads(encode(envelope))
        events.append({**document, "partitionkey": envelope.subject})
    return events


async def produced(servers: Servers, topic: str, mode: str, events: list[dict[str, Any]]) -> None:
    answer = await run_node(
        SCRIPT,
        {
            "action": "produce",
            "bootstrap": servers.kafka_bootstrap,
            "topic": topic,
            "mode": mode,
            "events": events,
        },
    )
    assert answer == {"sent": [event["id"] for event in events]}


async def records_of(
    servers: Servers, topic: str, events: list[dict[str, Any]]
) -> dict[str, ConsumerRecord[bytes, bytes]]:
    """The records the SDK wrote for ``events``, by the event's id (in the header or the value)."""

    def event_id(record: ConsumerRecord[bytes, bytes]) -> str:
        headers = dict(record.headers)
        return headers["ce_id"].decode() if "ce_id" in headers else str(json.loads(record.value)["id"])

    wanted = {event["id"] for event in events}
    found = await records_matching(
        servers.kafka_bootstrap, topic, lambda r: event_id(r) in wanted, expected=len(events), within=20
    )
    return {event_id(record): record for record in found}


def partition_for(key: str) -> int:
    """Where the platform's own producer (aiokafka, Java's murmur2 partitioner) puts records with ``key``: one
    client's events must land on one partition whichever of the two wrote them."""
    partitions = list(range(topics.CLIENT_EVENTS.partitions))
    chosen: int = DefaultPartitioner()(key.encode(), partitions, partitions)
    return chosen


def assert_keyed_and_timed_as_the_binding_says(
    record: ConsumerRecord[bytes, bytes], event: dict[str, Any]
) -> None:
    assert record.key == event["partitionkey"].encode()
    assert record.partition == partition_for(event["partitionkey"])
    assert record.timestamp == int(instant(event["time"]).timestamp() * 1000)


async def test_structured_mode_writes_the_whole_event_as_json_with_the_cloudevents_content_type(
    servers: Servers, topic: str, unique: str
) -> None:
    clinic = f"cejs-s-{unique}"
    events = session_events(clinic, [f"c-1-{unique}", f"c-2-{unique}", f"c-1-{unique}"])
    await produced(servers, topic, "structured", events)

    records = await records_of(servers, topic, events)
    assert set(records) == {event["id"] for event in events}
    for event in events:
        record = records[event["id"]]
        assert record.headers == (("content-type", STRUCTURED_CONTENT_TYPE.encode()),)
        value = json.loads(record.value)
        assert {k: v for k, v in value.items() if k != "time"} == {
            k: v for k, v in event.items() if k != "time"
        }
        assert instant(value["time"]) == instant(event["time"])
        assert_keyed_and_timed_as_the_binding_says(record, event)
    # One client's events in the order they were sent.
    first, _, third = (records[event["id"]] for event in events)
    assert first.partition == third.partition and first.offset < third.offset


async def test_binary_mode_writes_each_attribute_as_a_ce_header_and_the_data_as_the_value(
    servers: Servers, topic: str, unique: str
) -> None:
    clinic = f"cejs-b-{unique}"
    events = session_events(clinic, [f"c-1-{unique}", f"c-2-{unique}"])
    await produced(servers, topic, "binary", events)

    records = await records_of(servers, topic, events)
    assert set(records) == {event["id"] for event in events}
    for event in events:
        record = records[event["id"]]
        headers = {name: value.decode() for name, value in record.headers}
        assert len(headers) == len(record.headers), f"a header repeats: {record.headers}"
        attributes = {name: value for name, value in event.items() if name != "data"}
        # datacontenttype travels twice: as the content-type header, as the binding says, and as ce_ header.
        assert headers == {
            "content-type": event["datacontenttype"],
            **{f"ce_{name}": str(value) for name, value in attributes.items()},
        }
        assert json.loads(record.value) == event["data"]
        assert_keyed_and_timed_as_the_binding_says(record, event)


async def test_the_sdk_reads_back_what_it_wrote_in_either_mode(
    servers: Servers, topic: str, unique: str
) -> None:
    clinic = f"cejs-rt-{unique}"
    structured, binary = session_events(clinic, [f"c-s-{unique}"]), session_events(clinic, [f"c-b-{unique}"])
    await produced(servers, topic, "structured", structured)
    await produced(servers, topic, "binary", binary)

    read = await run_node(
        SCRIPT,
        {
            "action": "consume",
            "bootstrap": servers.kafka_bootstrap,
            "topic": topic,
            "where": {"clinicid": clinic},
            "expected": 2,
            "within": 30,
        },
    )

    by_id = {event["id"]: event for event in read["events"]}
    for event in (*structured, *binary):
        seen = by_id[event["id"]]
        assert {k: v for k, v in seen.items() if k != "time"} == {
            k: v for k, v in event.items() if k != "time"
        }
        assert instant(seen["time"]) == instant(event["time"])
