"""Writing accepted submissions to Kafka, where "accepted" means acknowledged by every in-sync replica.

Why this producer is *not* idempotent (no producer of the platform is; docs/integration.md): aiokafka's
idempotent producer never expires a batch, it retries until the broker is back. A request answered 503 while Kafka is down would then still land
minutes later, a ghost event the caller was told did not happen. Without idempotence a batch that is not
acknowledged within ``publish_timeout_ms`` fails for good and is dropped, so 503 means "not stored". The rare
duplicate a plain retry can cause carries the same CloudEvents id, and every consumer deduplicates on it.
"""

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker

from services.feedback.metrics import count_accepted
from services.feedback.settings import FeedbackSettings
from shared.contracts import CloudEvent, EventKind
from shared.contracts.binding import to_record
from shared.messaging import make_broker

Publication = tuple[EventKind[Any], CloudEvent[Any]]
INTAKE_BATCH_BYTES = 256 * 1024


class EventStoreUnavailable(Exception):
    """Kafka did not acknowledge in time; the write was dropped, nothing was stored."""


def intake_broker(settings: FeedbackSettings, service: str) -> KafkaBroker:
    return make_broker(
        settings,
        service,
        linger_ms=2,
        # One batch request of 500 items fills a partition's 16 KiB producer batch many times over, and the
        # producer then waits for each full batch to be acknowledged before it takes the next item of that
        # partition: room for a whole request per partition instead (under the broker's 1 MiB per batch).
        max_batch_size=INTAKE_BATCH_BYTES,
        request_timeout_ms=settings.publish_timeout_ms,
        retry_backoff_ms=100,
    )


# Kafka's acknowledgement to come, or None when the producer refused the event at once (no metadata in time).
Confirmation = Awaitable[Any] | None


async def publish_all(broker: KafkaBroker, publications: Sequence[Publication]) -> list[bool]:
    """Send the events and wait for Kafka's acknowledgements; True where Kafka acknowledged.

    Different clients' events are sent at once. One client's events (one key, one partition) go one after
    the other, each only once Kafka acknowledged the one before, and the first that fails stops its client's
    chain: the rest are not sent and count as not stored. Sent together instead, they could land in two
    producer batches; when the first batch failed (its leader paused or cut off: `broker paused` in `make
    reliability`) the second could still be stored once a new leader took over, and the client's retry of the
    first event then landed after it: a rating applied before its session record.
    """
    chains: dict[bytes, list[int]] = {}
    for index, (_, event) in enumerate(publications):
        chains.setdefault(_key(event), []).append(index)
    acknowledged = [False] * len(publications)

    async def chain(indices: list[int], first: Confirmation) -> None:
        confirmation = first
        for position, index in enumerate(indices):
            if position:
                confirmation = await _sent(broker, *publications[index])
            if not await _acknowledged(confirmation):
                return
            acknowledged[index] = True

    # Every client's first event is handed to the producer before any acknowledgement is awaited.
    started = [(indices, await _sent(broker, *publications[indices[0]])) for indices in chains.values()]
    # A client with more events goes on in a task of its own; one with a single event (most of a batch) needs
    # none: its acknowledgement is awaited in turn, as all of them are on their way.
    longer = [asyncio.ensure_future(chain(indices, first)) for indices, first in started if len(indices) > 1]
    try:
        for indices, first in started:
            if len(indices) == 1:
                await chain(indices, first)
        await asyncio.gather(*longer)
    finally:
        # Each is done already, unless the request was cancelled or failed: then nothing more is sent for it.
        for task in longer:
            task.cancel()
    for (kind, event), ok in zip(publications, acknowledged, strict=True):
        if ok:
            count_accepted(kind, event)
    return acknowledged


async def publish_one(broker: KafkaBroker, kind: EventKind[Any], event: CloudEvent[Any]) -> None:
    if not await _acknowledged(await _sent(broker, kind, event)):
        raise EventStoreUnavailable
    count_accepted(kind, event)


async def _sent(broker: KafkaBroker, kind: EventKind[Any], event: CloudEvent[Any]) -> Confirmation:
    """Hand ``event`` to the producer, which sends it with others of its partition (acks=all)."""
    record = to_record(event)
    try:
        return await broker.publish(
            record.value,
            topic=kind.topic.name,
            key=record.key,
            headers=record.headers,
            correlation_id=event.id,  # rather than a random one: what it is about
            no_confirm=True,
        )
    except (KafkaError, TimeoutError):
        return None


async def _acknowledged(confirmation: Confirmation) -> bool:
    """Whether Kafka acknowledged within the producer's timeout."""
    if confirmation is None:
        return False
    try:
        await confirmation
    except (KafkaError, TimeoutError):  # not acknowledged in time: Kafka is unreachable
        return False
    return True


def _key(event: CloudEvent[Any]) -> bytes:
    return (event.subject or event.clinicid).encode()


__all__ = ["EventStoreUnavailable", "Publication", "intake_broker", "publish_all", "publish_one"]
