"""Reading partitions once, from their beginning up to the end offsets they had when the read began.

FastStream subscribers have no notion of "caught up to the end offsets", so this bounded read uses aiokafka
directly: a service's start-up catching up on ``clinic.keys``, a check that counts what reached a topic.
"""

import time
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition


async def read_to_end(
    bootstrap: str,
    partitions: Sequence[TopicPartition],
    on_record: Callable[[Any], None],
    within: float = 30.0,
) -> None:
    """Hand ``on_record`` every record of ``partitions`` below their current end offsets, in partition order.

    Raises TimeoutError when that takes longer than ``within`` seconds.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(partitions))
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(list(partitions))
        deadline = time.monotonic() + within
        while [p for p, end in ends.items() if await consumer.position(p) < end]:
            if time.monotonic() > deadline:
                topics = ", ".join(sorted({p.topic for p in partitions}))
                raise TimeoutError(f"could not read {topics} to the end within {within:.0f} s")
            for partition, records in (await consumer.getmany(timeout_ms=500, max_records=5000)).items():
                for record in records:
                    if record.offset < ends[partition]:
                        on_record(record)
    finally:
        await consumer.stop()
