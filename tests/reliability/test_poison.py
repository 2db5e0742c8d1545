"""Poison on every consumed topic: each bad record lands in `deadletter` with its reason, once per consumer,
and the good records around it (on the same partition) are processed.

Consumers: scoring reads client.events, session.completed, feedback.submitted and rupture.acknowledged (one
consumer group); notify reads rupture.suspected and, in a group of its own, the note.shared records of
client.events (the topic's other records are scoring's to judge); every service follows clinic.keys (no group:
each instance reads it all).
"""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared import topics
from shared.auth import Scope, hash_key
from shared.contracts import (
    CLINIC_KEY,
    FEEDBACK_SUBMITTED,
    RUPTURE_ACKNOWLEDGED,
    RUPTURE_SUSPECTED,
    SESSION_COMPLETED,
    ClinicKeyV1,
    CloudEvent,
    EventKind,
    FeedbackSubmittedV1,
    MarkerV2,
    RuptureAcknowledgedV2,
    RuptureSuspectedV4,
    SessionCompletedV1,
    Severity,
    encode,
)
from tests.reliability.conftest import Reliability
from tests.support import waiting
from tests.support.kafka import records_matching

OVERSIZED = 900 * 1024
POISONS = ("not JSON", "invalid body", "unknown type", "unknown version", "oversized", "missing key")


def poison(kind: EventKind[Any], good: CloudEvent[Any], which: str) -> tuple[bytes, bool]:
    """(value, keyed) of one bad record built from a good event of ``kind``."""
    document = json.loads(encode(good))
    if which == "not JSON":
        return b"\x00\xff{not json at all", True
    if which == "invalid body":
        return json.dumps({**document, "data": {"client_id": "$where"}}).encode(), True
    if which == "unknown type":
        return json.dumps({**document, "type": "org.alliance.nonsense.v1"}).encode(), True
    if which == "unknown version":
        return json.dumps({**document, "type": kind.type_name(kind.latest_version + 1)}).encode(), True
    if which == "oversized":
        padded = {**document, "data": {**document["data"], "padding": "x" * OVERSIZED}}
        return json.dumps(padded).encode(), True
    return encode(good), False  # a valid event without its key


@dataclass
class Sent:
    partition: int
    offsets: dict[str, int]  # poison name -> offset
    good: list[int]


@pytest.fixture(scope="module")
async def producer(reliability: Reliability) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(
        bootstrap_servers=reliability.platform.env["KAFKA_BOOTSTRAP_SERVERS"],
        acks="all",
        max_request_size=2 * 1024 * 1024,
    )
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


@pytest.fixture(scope="module")
async def clinic(reliability: Reliability) -> str:
    clinic_id = f"poison-{uuid.uuid4().hex[:8]}"
    await reliability.platform.issue_keys([clinic_id])
    return clinic_id


async def send_around(
    producer: AIOKafkaProducer, kind: EventKind[Any], before: CloudEvent[Any], after: CloudEvent[Any]
) -> Sent:
    """A good record, every poison, a good record: all on one partition, in that order."""
    key = (before.subject or before.clinicid).encode()
    first = await producer.send_and_wait(kind.topic.name, encode(before), key=key)
    offsets: dict[str, int] = {}
    for which in POISONS:
        if kind is CLINIC_KEY and which == "missing key":
            continue  # a compacted topic refuses keyless records at the broker: see the test below
        value, keyed = poison(kind, before, which)
        sent = await producer.send_and_wait(
            kind.topic.name, value, key=key if keyed else None, partition=first.partition
        )
        offsets[which] = sent.offset
    last = await producer.send_and_wait(
        kind.topic.name,
        encode(after),
        key=(after.subject or after.clinicid).encode(),
        partition=first.partition,
    )
    return Sent(first.partition, offsets, [first.offset, last.offset])


async def dead_letters(
    bootstrap: str, topic: str, sent: Sent, expected: int
) -> list[ConsumerRecord[bytes, bytes]]:
    wanted = {str(offset) for offset in [*sent.offsets.values(), *sent.good]}

    def ours(record: ConsumerRecord[bytes, bytes]) -> bool:
        headers = {name: value.decode() for name, value in record.headers}
        return (
            headers.get("x-original-topic") == topic
            and headers.get("x-original-partition") == str(sent.partition)
            and headers.get("x-original-offset") in wanted
        )

    return await records_matching(
        bootstrap, topics.DEAD_LETTER.name, ours, expected=expected, within=90, settle=2
    )


def by_offset(records: list[ConsumerRecord[bytes, bytes]]) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for record in records:
        headers = {name: value.decode() for name, value in record.headers}
        found.setdefault(headers["x-original-offset"], []).append(headers)
    return found


def assert_each_poison_dead_lettered(
    records: list[ConsumerRecord[bytes, bytes]], sent: Sent, consumers: int
) -> None:
    found = by_offset(records)
    for which, offset in sent.offsets.items():
        letters = found.get(str(offset), [])
        assert len(letters) == consumers, f"{which}: {len(letters)} dead letters, expected {consumers}"
        assert {h["x-dead-letter-reason"] for h in letters} == {"contract"}, (which, letters)
        assert all(h["x-dead-letter-detail"] for h in letters), which
    for offset in sent.good:
        assert str(offset) not in found, (
            f"the good record at offset {offset} was dead-lettered: {found[str(offset)]}"
        )


async def committed_past(bootstrap: str, group: str, topic: str, sent: Sent, within: float = 90.0) -> None:
    """The group committed beyond the last good record: everything before it was handled, nothing blocks."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + within
        while True:
            offsets = await admin.list_consumer_group_offsets(group)
            position = next(
                (
                    m.offset
                    for tp, m in offsets.items()
                    if (tp.topic, tp.partition) == (topic, sent.partition)
                ),
                -1,
            )
            if position > sent.good[-1]:
                return
            assert time.monotonic() < deadline, f"{group} stuck at {position} on {topic}/{sent.partition}"
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


async def reads_past(bootstrap: str, group: str, topic: str, sent: Sent) -> bool:
    """Does ``group`` consume ``topic`` (it committed past the last good record within a while)?"""
    try:
        await committed_past(bootstrap, group, topic, sent, within=20)
    except AssertionError:
        return False
    return True


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    await waiting.eventually(check, within=90.0, what=what, interval=0.5)


def envelope(kind: EventKind[Any], data: Any, clinic: str, client: str) -> CloudEvent[Any]:
    return kind.envelope(data, clinic_id=clinic, client_id=client, source="/tests/poison")


AT = datetime(2026, 5, 4, 10, tzinfo=UTC)


def session(client: str, number: int) -> SessionCompletedV1:
    return SessionCompletedV1(
        session_id=f"{client}-s{number}",
        therapist_id="t-poison",
        client_id=client,
        occurred_at=AT.replace(day=number),
        attendance="attended",
        scheduled_minutes=50,
    )


def srs(client: str, number: int) -> FeedbackSubmittedV1:
    items = {"relationship": 9.5, "goals": 9.5, "approach": 9.5, "overall": 9.5}
    return FeedbackSubmittedV1(
        session_id=f"{client}-s{number}",
        therapist_id="t-poison",
        client_id=client,
        session_at=AT.replace(day=number),
        instrument="srs",
        respondent="client",
        items=items,
        submitted_at=AT.replace(day=number, hour=11),
    )


async def sessions_known(reliability: Reliability, clinic: str, client: str, expected: int) -> bool:
    async with httpx.AsyncClient(base_url=reliability.platform.url("scoring"), timeout=10) as http:
        answer = await http.get(
            f"/v1/clients/{client}/alliance",
            headers={"Authorization": f"Bearer {reliability.platform.keys[clinic].read}"},
        )
    return answer.status_code == 200 and answer.json()["summary"]["session_count"] == expected


@pytest.mark.parametrize("kind", [SESSION_COMPLETED, FEEDBACK_SUBMITTED], ids=lambda k: k.name)
async def test_poison_on_scoring_inputs_is_dead_lettered_and_the_stream_goes_on(
    kind: EventKind[Any], reliability: Reliability, producer: AIOKafkaProducer, clinic: str
) -> None:
    client = f"c-{uuid.uuid4().hex[:8]}"
    make = session if kind is SESSION_COMPLETED else srs
    sent = await send_around(
        producer,
        kind,
        envelope(kind, make(client, 1), clinic, client),
        envelope(kind, make(client, 2), clinic, client),
    )
    bootstrap = reliability.platform.env["KAFKA_BOOTSTRAP_SERVERS"]

    assert_each_poison_dead_lettered(
        await dead_letters(bootstrap, kind.topic.name, sent, len(sent.offsets)), sent, consumers=1
    )
    await eventually(lambda: sessions_known(reliability, clinic, client, 2), "both good records applied")
    await committed_past(bootstrap, reliability.platform.env["SCORING_GROUP_ID"], kind.topic.name, sent)


async def test_poison_on_acknowledgements_is_dead_lettered_and_the_stream_goes_on(
    reliability: Reliability, producer: AIOKafkaProducer, clinic: str
) -> None:
    client = f"c-{uuid.uuid4().hex[:8]}"

    def ack(rupture: str) -> CloudEvent[Any]:
        data = RuptureAcknowledgedV2(
            rupture_id=rupture,
            therapist_id="t-poison",
            client_id=client,
            acknowledged_by="t-poison",
            acknowledged_at=AT,
            via="api",
        )
        return envelope(RUPTURE_ACKNOWLEDGED, data, clinic, client)

    sent = await send_around(producer, RUPTURE_ACKNOWLEDGED, ack("r-1"), ack("r-2"))
    bootstrap = reliability.platform.env["KAFKA_BOOTSTRAP_SERVERS"]
    topic = RUPTURE_ACKNOWLEDGED.topic.name

    # Scoring reads acknowledgements; so may notify (its escalation timers). Every group that read past the
    # poison dead-letters each bad record once.
    await committed_past(bootstrap, reliability.platform.env["SCORING_GROUP_ID"], topic, sent)
    groups = 1 + await reads_past(bootstrap, reliability.platform.env["NOTIFY_GROUP_ID"], topic, sent)
    records = await dead_letters(bootstrap, topic, sent, groups * len(sent.offsets))
    assert_each_poison_dead_lettered(records, sent, consumers=groups)


async def test_poison_on_rupture_suspected_is_dead_lettered_and_alerts_go_on(
    reliability: Reliability, producer: AIOKafkaProducer, clinic: str
) -> None:
    client = f"c-{uuid.uuid4().hex[:8]}"

    def rupture(rupture_id: str) -> CloudEvent[Any]:
        marker = MarkerV2(code="steep_drop", family="change", level=Severity.HIGH, value=28.0, threshold=30.0)
        data = RuptureSuspectedV4(
            rupture_id=rupture_id,
            therapist_id="t-poison",
            client_id=client,
            session_id=f"{client}-s1",
            session_at=AT,
            severity=Severity.HIGH,
            markers=[marker],
            srs_total=28.0,
        )
        return envelope(RUPTURE_SUSPECTED, data, clinic, client)

    ids = (f"r-{uuid.uuid4().hex[:8]}", f"r-{uuid.uuid4().hex[:8]}")
    sent = await send_around(producer, RUPTURE_SUSPECTED, rupture(ids[0]), rupture(ids[1]))
    bootstrap = reliability.platform.env["KAFKA_BOOTSTRAP_SERVERS"]

    records = await dead_letters(bootstrap, RUPTURE_SUSPECTED.topic.name, sent, len(sent.offsets))
    assert_each_poison_dead_lettered(records, sent, consumers=1)

    async def both_alerted() -> bool:
        alerted = [
            c.body["rupture_id"] for c in reliability.webhook.snapshot() if c.body.get("client_id") == client
        ]
        return sorted(alerted) == sorted(ids)

    await eventually(both_alerted, "an alert for each good rupture.suspected, and only those")
    await committed_past(
        bootstrap, reliability.platform.env["NOTIFY_GROUP_ID"], RUPTURE_SUSPECTED.topic.name, sent
    )


async def test_poison_on_clinic_keys_is_dead_lettered_by_every_service_and_keys_still_arrive(
    reliability: Reliability, producer: AIOKafkaProducer
) -> None:
    clinic = f"poison-keys-{uuid.uuid4().hex[:8]}"
    keys = [f"rel-poison-key-{uuid.uuid4().hex}" for _ in range(2)]

    def key_record(api_key: str) -> CloudEvent[Any]:
        data = ClinicKeyV1(
            key_hash=hash_key(api_key),
            clinic_id=clinic,
            scopes=sorted(Scope),
            revoked=False,
            changed_at=datetime.now(UTC),
        )
        return CLINIC_KEY.envelope(data, clinic_id=clinic, subject=hash_key(api_key), source="/tests/poison")

    sent = await send_around(producer, CLINIC_KEY, key_record(keys[0]), key_record(keys[1]))
    bootstrap = reliability.platform.env["KAFKA_BOOTSTRAP_SERVERS"]

    # Every instance of every service follows the topic outside any group: three dead letters per poison.
    records = await dead_letters(bootstrap, CLINIC_KEY.topic.name, sent, 3 * len(sent.offsets))
    assert_each_poison_dead_lettered(records, sent, consumers=3)

    async def key_works_everywhere() -> bool:
        probes = [
            ("feedback", "/v1/sessions", "post"),
            ("scoring", "/v1/clinic/settings", "get"),
            ("notify", "/v1/routing", "get"),
        ]
        async with httpx.AsyncClient(timeout=10) as http:
            for service, path, method in probes:
                answer = await http.request(
                    method.upper(),
                    reliability.platform.url(service) + path,
                    headers={"Authorization": f"Bearer {keys[1]}"},
                    json={},
                )
                if answer.status_code == 401:
                    return False
        return True

    await eventually(key_works_everywhere, "the key after the poison known to all three services")


async def test_a_keyless_record_never_reaches_the_compacted_keys_topic(producer: AIOKafkaProducer) -> None:
    with pytest.raises(KafkaError):
        await producer.send_and_wait(CLINIC_KEY.topic.name, b'{"specversion": "1.0"}', key=None)
