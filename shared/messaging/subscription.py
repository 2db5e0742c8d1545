"""How every service subscribes to an event topic: decoded by the contract, committed only after success."""

from collections.abc import Awaitable, Callable
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage

from shared.contracts import CloudEvent, EventKind


def contract_decoder(kind: EventKind[Any]) -> Callable[[StreamMessage[Any]], Awaitable[CloudEvent[Any]]]:
    async def decode(message: StreamMessage[Any]) -> CloudEvent[Any]:
        return kind.decode(message.body)

    return decode


Handler = Callable[..., Awaitable[Any]]


def subscribe(broker: KafkaBroker, kind: EventKind[Any], group_id: str) -> Callable[[Handler], Any]:
    """A subscriber decorator for ``kind``'s topic in consumer group ``group_id``.

    Offsets are committed after the handler returned (the effect is durable by then); an error that escapes
    the delivery guard rewinds to the message instead of committing past it.
    """
    return broker.subscriber(
        kind.topic.name,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=contract_decoder(kind),
    )
