"""The batch subscription on the real broker: replicas of one service split the co-partitioned topics so that
partition p of every topic (one set of clients) belongs to one replica."""

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from faststream.kafka import KafkaBroker

from shared.contracts import (
    FEEDBACK_SUBMITTED,
    RUPTURE_ACKNOWLEDGED,
    SESSION_COMPLETED,
    CloudEvent,
    ContractViolation,
)
from shared.messaging import subscribe_batch
from shared.topics import Topic
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
KINDS = (SESSION_COMPLETED, FEEDBACK_SUBMITTED, RUPTURE_ACKNOWLEDGED)
# client.events, the two deprecated topics scoring still reads for one release, and rupture.acknowledged.
TOPICS: tuple[Topic, ...] = tuple({t.name: t for kind in KINDS for t in kind.consumed_topics}.values())


def replica(bootstrap: str, group: str) -> KafkaBroker:
    broker = KafkaBroker(bootstrap)

    @subscribe_batch(broker, KINDS, group)
    async def apply(events: Sequence[CloudEvent[Any]]) -> Mapping[int, ContractViolation]:
        return {}

    return broker


def assignment(broker: KafkaBroker) -> dict[str, set[int]]:
    consumer = broker.subscribers[0].consumer  # type: ignore[attr-defined]
    by_topic: dict[str, set[int]] = {topic.name: set() for topic in TOPICS}
    for partition in consumer.assignment() if consumer else ():
        by_topic[partition.topic].add(partition.partition)
    return by_topic


# 6 partitions a topic: with 4 replicas, round robin over all the topics' partitions would give partition p
# of one topic and partition p of another to different replicas.
@pytest.mark.parametrize("replicas", [2, 4])
async def test_each_replica_owns_the_same_partitions_of_every_topic(servers: Servers, replicas: int) -> None:
    group = f"co-partitioning-{uuid.uuid4().hex[:8]}"
    brokers = [replica(servers.kafka_bootstrap, group) for _ in range(replicas)]
    for broker in brokers:
        await broker.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            owned = [assignment(broker) for broker in brokers]
            total = sum(len(partitions) for mine in owned for partitions in mine.values())
            if total == sum(topic.partitions for topic in TOPICS) and all(
                any(mine.values()) for mine in owned
            ):
                break
            assert time.monotonic() < deadline, f"the group did not settle: {owned}"
            await asyncio.sleep(0.2)
    finally:
        for broker in brokers:
            await broker.stop()

    assert len(TOPICS) == 4
    for mine in owned:
        clients = mine[SESSION_COMPLETED.topic.name]
        assert clients, mine
        assert all(partitions == clients for partitions in mine.values()), mine
