"""Kafka helpers for the benchmark: preload records, read end offsets and a group's committed progress."""

import asyncio
import time
import uuid
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from bench.workload import Record


async def preload(bootstrap: str, records: Sequence[Record]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20
    )
    await producer.start()
    try:
        sent = [await producer.send(r.topic, r.value, key=r.key) for r in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def end_offsets(
    bootstrap: str, topics: Sequence[str], within: float = 30.0
) -> dict[TopicPartition, int]:
    """The end offset of every partition of ``topics``.

    A group-less consumer subscribed to the topics is assigned all their partitions once it has their
    metadata (``partitions_for_topic`` alone answers None until something asked for that metadata).
    """
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        deadline = time.monotonic() + within
        while {tp.topic for tp in consumer.assignment()} != set(topics):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no metadata for all of {sorted(topics)} within {within:.0f} s")
            await asyncio.sleep(0.05)
        return dict(await consumer.end_offsets(sorted(consumer.assignment())))
    finally:
        await consumer.stop()


async def committed_total(admin: AIOKafkaAdminClient, group: str, topics: Sequence[str]) -> int:
    offsets = await admin.list_consumer_group_offsets(group)
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic in topics and meta.offset > 0)


async def wait_until_consumed(
    bootstrap: str, group: str, topics: Sequence[str], target: int, within: float
) -> tuple[float, int, float]:
    """Poll ``group``'s committed offsets until they reach ``target``.

    Returns (first progress, records committed by then, done): monotonic times, so start-up and group join are
    not counted, and a rate counts only the records committed after the first progress was seen.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    first: float | None = None
    first_count = 0
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            try:
                done = await committed_total(admin, group, topics)
            except KafkaError as error:  # e.g. no coordinator yet for a fresh group: ask again shortly
                if not error.retriable:
                    raise
                await asyncio.sleep(0.2)
                continue
            now = time.monotonic()
            if done > 0 and first is None:
                first, first_count = now, done
            if done >= target:
                return first or now, first_count, now
            await asyncio.sleep(0.05)
    finally:
        await admin.close()
    raise TimeoutError(f"group {group} did not consume {target} records within {within:.0f} s")


async def skip_to_end(bootstrap: str, group: str, topics: Sequence[str]) -> None:
    """Commit ``group`` at the end of ``topics``, so a service started with it ignores the preloaded stream."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        ends = await consumer.end_offsets(list(consumer.assignment()))
        await consumer.commit({tp: offset for tp, offset in ends.items()})
    finally:
        await consumer.stop()


def fresh_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
