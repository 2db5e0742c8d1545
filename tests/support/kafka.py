"""Reading what landed on a topic, for assertions. Bounded in time: a test never waits forever."""

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from services.feedback.goals import goals_group
from services.notify.client_events import client_pages_group
from shared import topics

# The consumer group of each service (its *_GROUP_ID setting) and the topics it reads in it.
SERVICE_GROUP_TOPICS = {
    "SCORING_GROUP_ID": (
        topics.CLIENT_EVENTS,
        topics.SESSION_COMPLETED,
        topics.FEEDBACK_SUBMITTED,
        topics.RUPTURE_ACKNOWLEDGED,
    ),
    "NOTIFY_GROUP_ID": (topics.RUPTURE_SUSPECTED, topics.RUPTURE_ACKNOWLEDGED),
}


async def records_matching(
    bootstrap: str,
    topic: str,
    predicate: Callable[[ConsumerRecord[bytes, bytes]], bool],
    *,
    expected: int,
    within: float = 10.0,
    settle: float = 0.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` (from the beginning) that satisfies ``predicate``.

    Returns once ``expected`` matched and ``settle`` more seconds brought nothing new, or when ``within`` seconds
    passes; the caller asserts on what came back.
    """
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + within
    settled_at: float | None = None
    try:
        while time.monotonic() < deadline:
            batch: dict[Any, list[ConsumerRecord[bytes, bytes]]] = await consumer.getmany(timeout_ms=200)
            found += [
                record for records in batch.values() for record in records if _matches(predicate, record)
            ]
            if len(found) >= expected:
                settled_at = settled_at or time.monotonic()
                if time.monotonic() - settled_at >= settle:
                    break
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return found


def _matches(
    predicate: Callable[[ConsumerRecord[bytes, bytes]], bool], record: ConsumerRecord[bytes, bytes]
) -> bool:
    # Topics are shared by the whole session, poison messages of other tests included: a record the predicate
    # cannot even read is simply not one of ours.
    try:
        return predicate(record)
    except (ValueError, KeyError, TypeError, AttributeError):
        return False


async def start_group_at_end(bootstrap: str, group_id: str, topics: list[str]) -> None:
    """Commit ``group_id`` at the current end of ``topics``.

    A test's consumer group then starts with the test's own events instead of working through everything the
    session's earlier tests left on the shared topics.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions_of(consumer, topics)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit({partition: offset for partition, offset in ends.items()})
    finally:
        await consumer.stop()


async def _partitions_of(
    consumer: AIOKafkaConsumer, topics: list[str], within: float = 30.0
) -> list[TopicPartition]:
    """Every partition of ``topics``, once the broker that answers knows them all.

    On a fresh cluster a broker learns of topics just created from the controller a moment later than the one
    that created them: asked too early, it knows none of them, and committing nothing is an error.
    """
    deadline = time.monotonic() + within
    while True:
        # topics() returns the cluster's metadata without keeping it; this loads it into the consumer.
        await consumer._client.force_metadata_update()
        known = {topic: consumer.partitions_for_topic(topic) for topic in topics}
        missing = sorted(topic for topic, partitions in known.items() if not partitions)
        if not missing:
            return [TopicPartition(topic, p) for topic, partitions in known.items() for p in partitions or ()]
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"Kafka did not report the partitions of {', '.join(missing)} in {within:.0f} s"
            )
        await asyncio.sleep(0.25)


async def start_service_groups_at_end(env: Mapping[str, str]) -> None:
    """Commit the services' fresh consumer groups named in ``env`` at the current end of what they read, so
    services started with ``env`` work on their run's own events, not on the whole history of the topics."""
    for setting, group_topics in SERVICE_GROUP_TOPICS.items():
        await start_group_at_end(env["KAFKA_BOOTSTRAP_SERVERS"], env[setting], [t.name for t in group_topics])
    # notify reads the shared notes in a group of its own, beside its alert consumers'.
    notes_group = client_pages_group(env["NOTIFY_GROUP_ID"])
    await start_group_at_end(env["KAFKA_BOOTSTRAP_SERVERS"], notes_group, [topics.CLIENT_EVENTS.name])
    # feedback reads the goals agreed (for its goal-rating form) in one too.
    if "FEEDBACK_GROUP_ID" in env:
        goals = goals_group(env["FEEDBACK_GROUP_ID"])
        await start_group_at_end(env["KAFKA_BOOTSTRAP_SERVERS"], goals, [topics.CLIENT_EVENTS.name])
