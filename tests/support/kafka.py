"""Reading what landed on a topic, for assertions. Bounded in time: a test never waits forever."""

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord


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
            found += [record for records in batch.values() for record in records if predicate(record)]
            if len(found) >= expected:
                settled_at = settled_at or time.monotonic()
                if time.monotonic() - settled_at >= settle:
                    break
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return found
