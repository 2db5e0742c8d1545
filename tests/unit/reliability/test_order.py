"""The judge's order check: a client's accepted events must be on Kafka in the order the driver sent them."""

from datetime import UTC, datetime

from reliability.judge import reordered_clients
from reliability.oracle import Produced
from reliability.stream import StreamItem

AT = datetime(2026, 11, 2, tzinfo=UTC)


def item(client: str, number: int) -> StreamItem:
    return StreamItem(f"{client}-{number}", "feedback", "clinic-a", {"client_id": client})


def test_a_later_write_that_overtook_an_earlier_one_is_found_per_client() -> None:
    items = [item("c1", 0), item("c2", 0), item("c1", 1), item("c2", 1), item("c1", 2)]
    event_ids = {i.item_id: f"e-{i.item_id}" for i in items}
    # c2 sits on another partition: its offsets are not compared with c1's.
    offsets = {"c1-0": 5, "c2-0": 1, "c1-1": 9, "c2-1": 0, "c1-2": 7}
    produced = {f"e-{key}": Produced(offset, AT) for key, offset in offsets.items()}

    assert reordered_clients(items, event_ids, produced) == [
        "clinic-a/c2: c2-1 before an earlier item",
        "clinic-a/c1: c1-2 before an earlier item",
    ]


def test_items_not_accepted_or_not_on_kafka_are_left_to_the_other_checks() -> None:
    items = [item("c1", 0), item("c1", 1), item("c1", 2)]
    event_ids = {"c1-0": "e0", "c1-2": "e2"}  # c1-1 was rejected
    produced = {"e0": Produced(3, AT), "e2": Produced(4, AT)}

    assert reordered_clients(items, event_ids, produced) == []
    assert reordered_clients(items, {**event_ids, "c1-1": "e1"}, produced) == []  # e1 missing: lost, not here
