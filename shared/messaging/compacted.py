"""Following a compacted topic whole, in every instance: the clinics' API keys, the erased clients.

At start-up a service reads the topic up to its end offsets before it reports ready (``read_all``), so it
never acts on a stale view just after a restart. From then on a FastStream subscriber outside any consumer
group (``follow_all``: every instance sees every record, from the beginning, at every start) applies changes
as they come; applying a record again must be harmless.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from shared.contracts import CloudEvent, ContractViolation, EventKind
from shared.messaging.reading import read_to_end
from shared.messaging.subscription import contract_decoder, decode_record


def follow_all(
    broker: KafkaBroker, kind: EventKind[Any], apply: Callable[[CloudEvent[Any]], Awaitable[None]]
) -> None:
    """Hand ``apply`` every event of ``kind``'s topic, from its beginning, in this instance."""

    async def on_record(event: CloudEvent[Any]) -> None:
        await apply(event)

    on_record.__name__ = on_record.__qualname__ = f"follow_{kind.name.replace('.', '_')}"
    broker.subscriber(
        kind.topic.name,
        group_id=None,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK_FIRST,
        decoder=contract_decoder(kind),
    )(on_record)


async def read_all(
    bootstrap: str, kind: EventKind[Any], apply: Callable[[CloudEvent[Any]], None], within: float = 30.0
) -> int:
    """Hand ``apply`` every event of ``kind``'s topic up to its current end; returns how many."""
    applied = 0

    def on_record(record: Any) -> None:
        nonlocal applied
        try:
            event = decode_record(kind, record)
        except ContractViolation:
            return  # the live subscriber dead-letters it; start-up must not fail on it
        apply(event)
        applied += 1

    topic = kind.topic
    partitions = [TopicPartition(topic.name, p) for p in range(topic.partitions)]
    await read_to_end(bootstrap, partitions, on_record, within)
    return applied
