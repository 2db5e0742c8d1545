"""A batch is handed over in the order its records were produced, each partition's own order kept."""

from dataclasses import dataclass

from shared.messaging.subscription import in_production_order


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp: int


def test_a_poll_grouped_by_partition_is_merged_by_timestamp() -> None:
    # As a poll returns them after a backlog: one topic's partition first, then the other's.
    sessions = [Record("session.completed", 0, offset, ts) for offset, ts in enumerate((10, 30, 50))]
    feedback = [Record("feedback.submitted", 0, offset, ts) for offset, ts in enumerate((20, 40, 60))]

    merged = in_production_order([*sessions, *feedback])

    assert [r.timestamp for r in merged] == [10, 20, 30, 40, 50, 60]


def test_a_partitions_records_never_overtake_each_other_when_clocks_disagree() -> None:
    # Two producers with skewed clocks wrote to partition 0: its offsets stay in order all the same.
    skewed = [Record("t", 0, 0, 50), Record("t", 0, 1, 10), Record("t", 0, 2, 60)]
    other = [Record("t", 1, 0, 20), Record("t", 1, 1, 55)]

    merged = in_production_order([*skewed, *other])

    assert [(r.partition, r.offset) for r in merged if r.partition == 0] == [(0, 0), (0, 1), (0, 2)]
    assert [(r.partition, r.offset) for r in merged if r.partition == 1] == [(1, 0), (1, 1)]
    assert len(merged) == 5


def test_equal_timestamps_keep_the_poll_order() -> None:
    first, second = Record("a", 0, 0, 5), Record("b", 0, 0, 5)

    assert in_production_order([first, second]) == [first, second]
