"""Reading a few kinds out of a topic that carries many: ``client.events`` for a service that needs only some.

``client.events`` carries each client's whole history (sessions, ratings, notes, goals ...) in production order,
for scoring. A service that needs a few of its kinds (notify the shared notes, feedback the goals) reads it in a
consumer group of its own and passes over every other record after one cheap look: a record whose bytes do not
even contain a picked kind's name is not parsed at all, and one that does is picked only when its CloudEvent
``type`` names that kind (any numbered version). The rest is not validated: judging the topic's other records,
and dead-lettering the bad ones, is scoring's part, so a poison record there reaches ``deadletter`` once and not
once per service. A record whose type names a picked kind but that cannot be read as one is dead-lettered by
the reader too (reason ``contract``), as on every topic a service consumes; offsets are committed once a batch's
picked events are durable (``shared.messaging.subscription``).
"""

import json
from collections.abc import Callable, Sequence
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage

from shared.contracts import ContractViolation, EventKind
from shared.contracts.binding import HEADER_PREFIX, read_record
from shared.contracts.registry import TYPE_PREFIX
from shared.messaging import subscription

# Large, slow batches: a picked event may wait a second, and each batch commits its offsets, a replicated write,
# on the busiest topic (about once a second per replica instead of twenty times).
PICKED_BATCH_RECORDS = 5000
PICKED_WAIT_MS = 1000
TYPE_HEADER = f"{HEADER_PREFIX}type"  # a binary-mode record's type: its value is data alone


def names_kind(kind: EventKind[Any], type_name: object) -> bool:
    """Whether a CloudEvent ``type`` names ``kind`` in any version, so that a version this reader cannot read yet
    is dead-lettered, not silently passed over."""
    prefix = f"{TYPE_PREFIX}{kind.name}.v"
    return isinstance(type_name, str) and type_name.startswith(prefix) and type_name[len(prefix) :].isdigit()


class KindPicker:
    """Picks the records of ``kinds`` out of a shared topic, each decoded by its own kind."""

    def __init__(self, kinds: Sequence[EventKind[Any]]) -> None:
        self.kinds = tuple(kinds)
        self._names = tuple(kind.name.encode() for kind in self.kinds)

    def kind_named(self, type_name: object) -> EventKind[Any] | None:
        return next((kind for kind in self.kinds if names_kind(kind, type_name)), None)

    def read(self, record: Any) -> subscription.Delivery | None:
        """A record as a picked event to apply or to dead-letter; None for any other record."""
        headers = record.headers or ()
        binary_type = next((raw for name, raw in headers if name.lower() == TYPE_HEADER), None)
        looked_at = binary_type if binary_type is not None else (record.value or b"")
        if not any(name in looked_at for name in self._names):
            return None  # most of the topic: passed over without parsing it (its type names the kind)
        try:
            document = read_record(record.value, headers)
            if isinstance(document, bytes):
                document = json.loads(document)
        except (ValueError, ContractViolation):  # no event (undecodable bytes included): not ours to judge
            return None
        kind = self.kind_named(document.get("type")) if isinstance(document, dict) else None
        if kind is None:
            return None
        try:
            event = subscription.decode_event(kind, document)
            subscription.check_key(record.key, event)
        except ContractViolation as violation:
            return subscription.Delivery(record, None, violation)
        return subscription.Delivery(record, event)

    async def decode(self, message: StreamMessage[Any]) -> list[subscription.Delivery]:
        """The picked records of one poll (a batch), in the order the poll returned them."""
        return [picked for record in message.raw_message if (picked := self.read(record)) is not None]


def subscribe_picked(
    broker: KafkaBroker,
    kinds: Sequence[EventKind[Any]],
    group_id: str,
    instance_id: str | None = None,
    *,
    max_records: int = PICKED_BATCH_RECORDS,
    wait_ms: int = PICKED_WAIT_MS,
) -> Callable[[subscription.BatchHandler], subscription.BatchHandler]:
    """A decorator subscribing a batch handler to the events of ``kinds`` on their topic, in group ``group_id``,
    every other record passed over; ``instance_id`` (the replica's ``INSTANCE_ID``) makes the consumer a static
    member. Each batch waits up to ``wait_ms`` for records and holds up to ``max_records`` of the topic's."""
    return subscription.subscribe_batch(
        broker,
        kinds,
        group_id,
        max_records=max_records,
        batch_timeout_ms=wait_ms,
        fetch_wait_ms=wait_ms,
        instance_id=instance_id,
        decoder=KindPicker(kinds).decode,
    )
