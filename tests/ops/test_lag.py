"""The pure parts of the consumer lag monitor (the e2e tests watch it against a real Kafka)."""

from aiokafka import TopicPartition
from faststream.kafka import KafkaBroker

from shared.messaging.lag import WatchedGroup, consumed_groups, lag_of

A0, A1, B0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)


def test_lag_is_end_minus_committed_and_an_uncommitted_partition_counts_from_its_start() -> None:
    lag = lag_of(ends={A0: 10, A1: 7, B0: 5}, committed={A0: 4, A1: -1}, beginnings={A0: 0, A1: 2, B0: 1})
    assert lag == {A0: 6, A1: 5, B0: 4}


def test_lag_is_never_negative() -> None:
    # A committed offset can run ahead of an end offset read a moment earlier.
    assert lag_of(ends={A0: 10}, committed={A0: 12}, beginnings={}) == {A0: 0}


def test_the_watched_groups_are_the_brokers_consumer_groups_and_their_topics() -> None:
    broker = KafkaBroker("127.0.0.1:1")

    @broker.subscriber("session.completed", group_id="scoring")
    async def one(body: str) -> None: ...

    @broker.subscriber("feedback.submitted", group_id="scoring")
    async def two(body: str) -> None: ...

    @broker.subscriber("rupture.suspected", group_id="notify")
    async def three(body: str) -> None: ...

    @broker.subscriber("clinic.keys", group_id=None)  # every instance reads it: no group, no lag
    async def four(body: str) -> None: ...

    assert consumed_groups(broker) == [
        WatchedGroup("notify", ("rupture.suspected",)),
        WatchedGroup("scoring", ("feedback.submitted", "session.completed")),
    ]
