"""The oracle applies each client's events in the order they were produced on client.events."""

from datetime import UTC, datetime

from reliability.oracle import Produced, production_order
from reliability.stream import StreamItem


def item(item_id: str) -> StreamItem:
    return StreamItem(item_id, "session", "clinic-1", {"client_id": "c-1"})


def test_a_clients_items_follow_their_offsets_and_unknown_ones_keep_their_sending_order_last() -> None:
    sent = [item("a"), item("b"), item("c"), item("d"), item("e")]
    event_ids = {i.item_id: f"event-{i.item_id}" for i in sent}
    # b was produced first (an intake retried a's request after a crash), d and e are not on Kafka (yet).
    at = datetime(2026, 11, 2, tzinfo=UTC)
    produced = {"event-a": Produced(7, at), "event-b": Produced(3, at), "event-c": Produced(9, at)}

    ordered = production_order(sent, event_ids, produced)

    assert [i.item_id for i in ordered] == ["b", "a", "c", "d", "e"]
