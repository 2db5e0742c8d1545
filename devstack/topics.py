"""Kafka readiness and topic creation through aiokafka's admin client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.cluster import ClusterMetadata
from aiokafka.errors import KafkaError
from aiokafka.protocol.metadata import MetadataRequest

from shared.topics import Topic

T = TypeVar("T")

_TOPIC_ALREADY_EXISTS = 36
_METADATA_RETRIES = 40  # x 0.25 s: a just-created topic can take a moment to show its partitions


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine from sync code, even when the caller is inside an event loop
    (an async pytest fixture calling Stack.start_infra, for instance)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


@contextlib.contextmanager
def quiet_aiokafka() -> Iterator[None]:
    """While we poll a broker that is still starting, aiokafka logs every refused connection; mute that."""
    logger = logging.getLogger("aiokafka")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


async def _broker_count(bootstrap: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return len(cluster.get("brokers") or ())
    finally:
        await admin.close()


def answers_metadata(bootstrap: str, brokers: int = 1) -> bool:
    """One attempt: does Kafka answer a metadata request and list at least ``brokers`` brokers?"""
    with quiet_aiokafka():
        return run_sync(lambda: _broker_count(bootstrap)) >= brokers


@dataclass(frozen=True, order=True)
class PartitionState:
    topic: str
    partition: int
    leader: int  # -1: no leader (the partition is offline)
    replicas: tuple[int, ...]
    in_sync: tuple[int, ...]


async def _partition_states(bootstrap: str) -> list[PartitionState]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        described = await admin.describe_topics()
    finally:
        await admin.close()
    return sorted(
        PartitionState(topic["topic"], p["partition"], p["leader"], tuple(p["replicas"]), tuple(p["isr"]))
        for topic in described
        if not topic.get("is_internal") and topic["error_code"] == 0
        for p in topic["partitions"]
    )


def partition_states(bootstrap: str) -> list[PartitionState]:
    """Every partition of every topic but Kafka's own: its leader, replicas and in-sync replicas."""
    with quiet_aiokafka():
        return run_sync(lambda: _partition_states(bootstrap))


@dataclass
class TopicReport:
    created: list[str] = field(default_factory=list)
    grown: list[str] = field(default_factory=list)


def _check(response: Any, allowed: Iterable[int], action: str) -> None:
    for error in response.topic_errors:
        name, code, message = error[0], error[1], error[2] if len(error) > 2 else ""
        if code != 0 and code not in allowed:
            raise RuntimeError(f"{action} {name}: Kafka error {code} {message or ''}".strip())


async def _partition_counts(admin: Any, names: list[str]) -> dict[str, int]:
    for _ in range(_METADATA_RETRIES):
        described = await admin.describe_topics(names)
        if all(t["error_code"] == 0 and t["partitions"] for t in described):
            return {t["topic"]: len(t["partitions"]) for t in described}
        await asyncio.sleep(0.25)
    raise RuntimeError(f"Kafka did not report partitions for {names}")


async def _ensure_topics(bootstrap: str, topics: tuple[Topic, ...], replicas: int) -> TopicReport:
    report = TopicReport()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if missing:
            new = [
                NewTopic(
                    t.name,
                    t.partitions,
                    replicas,
                    topic_configs={"cleanup.policy": "compact"} if t.compacted else {},
                )
                for t in missing
            ]
            # "already exists" is fine: another process may have created it between list and create.
            _check(await admin.create_topics(new), {_TOPIC_ALREADY_EXISTS}, "creating topic")
            report.created = [t.name for t in missing]
        # Partitions can only grow; do so when shared/topics.py asks for more than the topic has.
        counts = await _partition_counts(admin, [t.name for t in topics])
        grow = {t.name: NewPartitions(t.partitions) for t in topics if counts[t.name] < t.partitions}
        if grow:
            _check(await admin.create_partitions(grow), (), "adding partitions to")
            report.grown = sorted(grow)
    finally:
        await admin.close()
    await _known_by_every_broker(bootstrap, topics)
    return report


async def _known_by_every_broker(bootstrap: str, topics: tuple[Topic, ...]) -> None:
    """Wait until every broker serves every partition of ``topics`` in its metadata.

    Each broker learns of new topics and partitions from the controller a moment after they are created (0.1 to
    1.3 s measured on a fresh cluster of three). A client that asked another broker first found none of them:
    a consumer group committed at the end of "every partition" committed nothing.
    """
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await client.bootstrap()
    try:
        for broker in client.cluster.brokers():
            for _ in range(_METADATA_RETRIES):
                seen = ClusterMetadata()
                seen.update_metadata(
                    await client.send(
                        broker.nodeId,
                        MetadataRequest([t.name for t in topics], allow_auto_topic_creation=False),
                    )
                )
                if all(len(seen.partitions_for_topic(t.name) or ()) >= t.partitions for t in topics):
                    break
                await asyncio.sleep(0.25)
            else:
                raise RuntimeError(
                    f"Kafka broker {broker.nodeId} did not report the partitions of every topic"
                )
    finally:
        await client.close()


def ensure_topics(
    bootstrap: str, topics: tuple[Topic, ...], replicas: int = 1, within: float = 60.0
) -> TopicReport:
    """Create missing topics (``replicas`` copies of each partition) and add partitions where there are too few.

    Retried for up to ``within`` seconds while the cluster is still settling: a broker that has just
    registered may not serve requests yet (NodeNotReadyError), and a controller election may be under way.
    """
    deadline = time.monotonic() + within
    while True:
        try:
            return run_sync(lambda: _ensure_topics(bootstrap, topics, replicas))
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)
