"""Systems that produce to Kafka with clients the platform did not write: the official CloudEvents SDKs (Python,
and JavaScript with kafkajs) and librdkafka (confluent-kafka, idempotent), in both content modes of the
CloudEvents Kafka binding. Each event is applied once and alerts; the alert is read back with the same SDKs.

The tenant is ``clinicid`` and nothing else: a record key or ``subject`` naming another clinic is dead-lettered
with that reason, and an extension attribute naming a clinic changes nothing.
"""

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from confluent_kafka import Producer

from tests.conformance.node import run_node
from tests.e2e.conftest import Platform
from tests.support.kafka import records_matching

pytestmark = pytest.mark.e2e
Mode = Literal["structured", "binary"]
MODES: tuple[Mode, ...] = ("structured", "binary")
# Yesterday: inside the push horizon, so a rating below the cutoff alerts.
SESSION_AT = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)


def low_srs(clinic_id: str, client_id: str, *, subject: str | None = None, **extensions: str) -> SdkEvent:
    """A client's SRS rating of 30 (below the cutoff), as the SDK builds it; ``partitionkey`` is the binding's
    key attribute."""
    subject = subject or f"{clinic_id}:{client_id}"
    return SdkEvent(
        attributes={
            "id": str(uuid.uuid4()),
            "source": "/conformance/python-sdk",
            "type": "org.alliance.feedback.submitted.v1",
            "time": datetime.now(UTC),
            "subject": subject,
            "dataschema": "urn:alliance:schema:feedback.submitted.v1",
            "clinicid": clinic_id,
            "partitionkey": subject,
            **extensions,
        },
        data={
            "session_id": f"s-{client_id}",
            "therapist_id": "t-1",
            "client_id": client_id,
            "session_at": SESSION_AT.isoformat(),
            "instrument": "srs",
            "respondent": "client",
            "items": {"relationship": 7.5, "goals": 7.5, "approach": 7.5, "overall": 7.5},
            "submitted_at": datetime.now(UTC).isoformat(),
        },
    )


def as_record(event: SdkEvent, mode: Mode) -> ce_kafka.KafkaMessage:
    to_record = ce_kafka.to_structured if mode == "structured" else ce_kafka.to_binary
    return to_record(event, JSONFormat())


def produce_with_librdkafka(bootstrap: str, records: list[ce_kafka.KafkaMessage], topic: str) -> None:
    """Send with an idempotent librdkafka producer (acks=all), as docs/integration.md asks."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    failures: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    for record in records:
        producer.produce(
            topic,
            value=record.value,
            key=record.key,
            headers=list(record.headers.items()),
            callback=delivered,
        )
    assert producer.flush(30) == 0, "librdkafka did not deliver every record within 30 s"
    assert failures == []


async def alerts_for(platform: Platform, client_id: str, count: int, within: float = 30.0) -> int:
    """How many alerts the webhook received for ``client_id`` once ``count`` arrived (and 2 s more, room for a
    duplicate), or after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if len(platform.webhook.calls_for(client_id)) >= count:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(2.0)
    return len(platform.webhook.calls_for(client_id))


async def rupture_records(bootstrap: str, clinic_id: str, client_id: str) -> list[Any]:
    subject = f"{clinic_id}:{client_id}".encode()
    return await records_matching(
        bootstrap, "rupture.suspected", lambda record: record.key == subject, expected=1, within=30.0
    )


@pytest.mark.parametrize("mode", MODES)
async def test_the_python_sdk_through_librdkafka_is_applied_once_and_its_alert_parses(
    platform: Platform, unique: str, mode: Mode
) -> None:
    client_id = f"c-py-{mode}-{unique}"
    record = as_record(low_srs(platform.clinic_id, client_id), mode)
    bootstrap = platform.kafka_bootstrap
    # Sent twice, as a producer that is unsure of its first send would: one event, one alert.
    produce_with_librdkafka(bootstrap, [record, record], "client.events")

    assert await alerts_for(platform, client_id, 1) == 1
    [alert] = await rupture_records(bootstrap, platform.clinic_id, client_id)
    message = ce_kafka.KafkaMessage(
        headers={name: value for name, value in alert.headers}, key=alert.key, value=alert.value
    )
    parsed = ce_kafka.from_kafka(message, JSONFormat())
    assert parsed.get_type().startswith("org.alliance.rupture.suspected.v")
    assert parsed.get_extension("clinicid") == platform.clinic_id
    assert parsed.get_subject() == f"{platform.clinic_id}:{client_id}"
    data = parsed.get_data()
    assert isinstance(data, dict) and data["client_id"] == client_id


@pytest.mark.parametrize("mode", MODES)
async def test_the_javascript_sdk_with_kafkajs_is_applied_and_reads_the_alert(
    platform: Platform, unique: str, mode: Mode
) -> None:
    client_id = f"c-js-{mode}-{unique}"
    event = low_srs(platform.clinic_id, client_id)
    attributes = {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in event.get_attributes().items()
    }
    bootstrap = platform.kafka_bootstrap
    given = {**attributes, "data": event.get_data()}
    sent = await run_node(
        "cloudevents-kafka.mjs",
        {
            "action": "produce",
            "bootstrap": bootstrap,
            "topic": "client.events",
            "mode": mode,
            "events": [given],
        },
    )
    assert sent["sent"] == [attributes["id"]]

    assert await alerts_for(platform, client_id, 1) == 1
    read = await run_node(
        "cloudevents-kafka.mjs",
        {
            "action": "consume",
            "bootstrap": bootstrap,
            "topic": "rupture.suspected",
            "where": {"subject": f"{platform.clinic_id}:{client_id}"},
            "expected": 1,
            "within": 30,
        },
    )
    [alert] = read["events"]
    assert alert["clinicid"] == platform.clinic_id
    assert alert["type"].startswith("org.alliance.rupture.suspected.v")
    assert alert["data"]["client_id"] == client_id


@pytest.mark.parametrize("mode", MODES)
async def test_extension_attributes_are_accepted_and_never_name_the_tenant(
    platform: Platform, unique: str, mode: Mode
) -> None:
    """``tenant`` and ``clinic`` extensions naming another clinic are carried, not obeyed: the alert is the
    ``clinicid``'s."""
    client_id = f"c-ext-{mode}-{unique}"
    event = low_srs(platform.clinic_id, client_id, tenant="other-clinic", clinic="other-clinic")
    bootstrap = platform.kafka_bootstrap
    produce_with_librdkafka(bootstrap, [as_record(event, mode)], "client.events")

    assert await alerts_for(platform, client_id, 1) == 1
    [call] = platform.webhook.calls_for(client_id)
    assert call.body["clinic_id"] == platform.clinic_id


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("which", ["key", "subject"])
async def test_a_key_or_subject_naming_another_clinic_is_dead_lettered_with_that_reason(
    platform: Platform, unique: str, mode: Mode, which: str
) -> None:
    client_id = f"c-ten-{which}-{mode}-{unique}"
    foreign = f"other-{unique}:{client_id}"
    event = low_srs(platform.clinic_id, client_id, subject=foreign if which == "subject" else None)
    record = as_record(event, mode)
    if which == "key":
        record = ce_kafka.KafkaMessage(headers=record.headers, key=foreign, value=record.value)
    bootstrap = platform.kafka_bootstrap
    produce_with_librdkafka(bootstrap, [record], "client.events")

    dead = await records_matching(
        bootstrap, "deadletter", carries_id(event.get_id()), expected=1, within=30.0, settle=1.0
    )
    assert len(dead) == 1
    detail = dict(dead[0].headers)["x-dead-letter-detail"].decode()
    assert f"names clinic 'other-{unique}'" in detail and "clinicid" in detail, detail
    assert await alerts_for(platform, client_id, 1, within=3.0) == 0


def carries_id(event_id: str) -> Callable[[Any], bool]:
    """A dead-lettered record of the event ``event_id``, in either content mode."""

    def match(record: Any) -> bool:
        headers = dict(record.headers)
        if headers.get("ce_id") == event_id.encode():
            return True
        try:
            return bool(json.loads(record.value).get("id") == event_id)
        except (ValueError, AttributeError):
            return False

    return match
