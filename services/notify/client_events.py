"""notify's reading of ``client.events``: the notes therapists share with their clients, and nothing else.

The topic carries each client's whole history (sessions, ratings, notes, answers) in production order, for
scoring. notify reads it in batches, in a consumer group of its own beside the alert consumers' (see
``client_pages_group``), and passes over every record that is not a
``note.shared`` after one look at its CloudEvent ``type``, without validating it: judging the topic's other
records, and dead-lettering the bad ones, is scoring's part, so a poison record there reaches ``deadletter``
once and not once per service. A record whose type says ``note.shared`` but that cannot be read as one is
dead-lettered here too (reason ``contract``), as on every topic notify consumes; offsets are committed once a
batch's notes are durable (``shared.messaging.subscription``).
"""

import json
from collections.abc import Callable
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage

from shared.contracts import NOTE_SHARED, ContractViolation
from shared.contracts.registry import TYPE_PREFIX
from shared.messaging import subscription

NOTE_SHARED_TYPE = f"{TYPE_PREFIX}{NOTE_SHARED.name}.v"
NOTE_SHARED_NAME = NOTE_SHARED.name.encode()
NOTES_BATCH_RECORDS = 5000
NOTES_WAIT_MS = 1000


def client_pages_group(group_id: str) -> str:
    """The consumer group notify reads client.events in, named after its group (``NOTIFY_GROUP_ID``) but not that
    group: a member joining or leaving a group pauses all its members for a rebalance, and the alert consumers
    need not wait on this one's start or on a slow batch of the busiest topic."""
    return f"{group_id}.client-pages"


def is_note_shared(type_name: object) -> bool:
    """Any version, so that a version notify cannot read yet is dead-lettered, not silently passed over."""
    return (
        isinstance(type_name, str)
        and type_name.startswith(NOTE_SHARED_TYPE)
        and type_name[len(NOTE_SHARED_TYPE) :].isdigit()
    )


def read_note(record: Any) -> subscription.Delivery | None:
    """A record of the topic as a note to apply or to dead-letter; None for any other record."""
    value = record.value or b""
    if NOTE_SHARED_NAME not in value:
        return None  # most of the topic: passed over without parsing it (its type names the kind)
    try:
        document = json.loads(value)
    except ValueError:  # not JSON (undecodable bytes included): not a note, and not notify's to judge
        return None
    if not isinstance(document, dict) or not is_note_shared(document.get("type")):
        return None
    try:
        event = subscription.decode_event(NOTE_SHARED, document)
        subscription.check_key(record.key, event)
    except ContractViolation as violation:
        return subscription.Delivery(record, None, violation)
    return subscription.Delivery(record, event)


async def _decode(message: StreamMessage[Any]) -> list[subscription.Delivery]:
    return [note for record in message.raw_message if (note := read_note(record)) is not None]


def subscribe_note_shared(
    broker: KafkaBroker, group_id: str, instance_id: str | None = None
) -> Callable[[subscription.BatchHandler], subscription.BatchHandler]:
    """A decorator subscribing a batch handler to the ``note.shared`` events of ``client.events`` in group
    ``group_id``; ``instance_id`` (the replica's ``INSTANCE_ID``) makes the consumer a static member."""
    return subscription.subscribe_batch(
        broker,
        [NOTE_SHARED],
        group_id,
        # Large, slow batches: a link may wait a second, and each batch commits its offsets, a replicated write,
        # on the busiest topic (about one a second per replica instead of twenty).
        max_records=NOTES_BATCH_RECORDS,
        batch_timeout_ms=NOTES_WAIT_MS,
        fetch_wait_ms=NOTES_WAIT_MS,
        instance_id=instance_id,
        decoder=_decode,
    )
