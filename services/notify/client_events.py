"""notify's reading of ``client.events``: the notes therapists share with their clients, and nothing else.

notify reads the topic in batches, in a consumer group of its own beside the alert consumers' (see
``client_pages_group``), and passes over every record that is not a ``note.shared`` after one look, without
validating it (``shared.messaging.picking``): a record whose type says ``note.shared`` but that cannot be read
as one is dead-lettered here (reason ``contract``); offsets are committed once a batch's notes are durable.
"""

from collections.abc import Callable
from typing import Any

from faststream.kafka import KafkaBroker

from shared.contracts import NOTE_SHARED
from shared.messaging import subscription
from shared.messaging.picking import KindPicker, names_kind, subscribe_picked

NOTES = KindPicker([NOTE_SHARED])


def client_pages_group(group_id: str) -> str:
    """The consumer group notify reads client.events in, named after its group (``NOTIFY_GROUP_ID``) but not that
    group: a member joining or leaving a group pauses all its members for a rebalance, and the alert consumers
    need not wait on this one's start or on a slow batch of the busiest topic."""
    return f"{group_id}.client-pages"


def is_note_shared(type_name: object) -> bool:
    """Any version, so that a version notify cannot read yet is dead-lettered, not silently passed over."""
    return names_kind(NOTE_SHARED, type_name)


def read_note(record: Any) -> subscription.Delivery | None:
    """A record of the topic as a note to apply or to dead-letter; None for any other record."""
    return NOTES.read(record)


def subscribe_note_shared(
    broker: KafkaBroker, group_id: str, instance_id: str | None = None
) -> Callable[[subscription.BatchHandler], subscription.BatchHandler]:
    """A decorator subscribing a batch handler to the ``note.shared`` events of ``client.events`` in group
    ``group_id``; ``instance_id`` (the replica's ``INSTANCE_ID``) makes the consumer a static member."""
    return subscribe_picked(broker, [NOTE_SHARED], group_id, instance_id)
