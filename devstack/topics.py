"""Kafka readiness and topic creation through aiokafka's admin client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic

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


async def _answers_metadata(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return bool(cluster.get("brokers"))
    finally:
        await admin.close()


def answers_metadata(bootstrap: str) -> bool:
    """One attempt: does the broker answer a metadata request and list at least one broker?"""
    with quiet_aiokafka():
        return run_sync(lambda: _answers_metadata(bootstrap))


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


async def _ensure_topics(bootstrap: str, topics: tuple[Topic, ...]) -> TopicReport:
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
                    1,
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
    return report


def ensure_topics(bootstrap: str, topics: tuple[Topic, ...]) -> TopicReport:
    """Create missing topics (replication factor 1) and add partitions where there are too few."""
    return run_sync(lambda: _ensure_topics(bootstrap, topics))
