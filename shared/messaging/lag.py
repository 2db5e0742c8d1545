"""Consumer lag per group, topic and partition, as a Prometheus gauge (FastStream does not export it).

Lag is the distance between a partition's end offset and the offset its consumer group last committed. The
groups and topics come from the broker's own subscribers (those in a consumer group), so a service watches
exactly what it consumes. Committed offsets come from the broker's admin client, end offsets from one
group-less consumer that never joins a group or commits. A failed refresh is logged, counted and retried at
the next tick: watching lag must never take the service down.
"""

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import KafkaBroker
from prometheus_client import Counter, Gauge

log = logging.getLogger("alliance.lag")

CONSUMER_LAG = Gauge(
    "alliance_consumer_lag",
    "Records in a partition not yet committed by the consumer group (end offset - committed offset).",
    ["group", "topic", "partition"],
)
LAG_REFRESH_FAILURES = Counter(
    "alliance_consumer_lag_refresh_failures_total", "Lag refreshes that failed and were retried.", ["group"]
)
REFRESH_SECONDS = 10.0
# At most this many partitions per topic become series, whatever the cluster reports: the gauge stays bounded.
MAX_PARTITIONS_PER_TOPIC = 64


@dataclass(frozen=True)
class WatchedGroup:
    group: str
    topics: tuple[str, ...]


def consumed_groups(broker: KafkaBroker) -> list[WatchedGroup]:
    """The consumer groups of ``broker``'s subscribers and the topics each reads (group-less ones skipped)."""
    by_group: dict[str, set[str]] = {}
    for subscriber in broker.subscribers:
        group = getattr(subscriber, "group_id", None)
        if group:
            by_group.setdefault(group, set()).update(getattr(subscriber, "topic_names_for_subscribe", []))
    return [WatchedGroup(group, tuple(sorted(names))) for group, names in sorted(by_group.items()) if names]


def lag_of(
    ends: Mapping[TopicPartition, int],
    committed: Mapping[TopicPartition, int],
    beginnings: Mapping[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """Lag per partition; a partition the group never committed counts from its first retained offset."""
    lag: dict[TopicPartition, int] = {}
    for partition, end in ends.items():
        position = committed.get(partition, -1)
        if position < 0:
            position = beginnings.get(partition, 0)
        lag[partition] = max(0, end - position)
    return lag


class LagMonitor:
    def __init__(
        self,
        broker: KafkaBroker,
        bootstrap_servers: str,
        groups: Sequence[WatchedGroup],
        interval: float = REFRESH_SECONDS,
    ) -> None:
        self._broker = broker
        self._bootstrap = bootstrap_servers
        self._groups = list(groups)
        self._interval = interval
        self._consumer: AIOKafkaConsumer | None = None

    async def _offsets_reader(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                group_id=None,
                enable_auto_commit=False,
                client_id="alliance-lag-monitor",
                request_timeout_ms=10_000,
                # Topics created after start-up show up at the next metadata refresh, within a tick or two.
                metadata_max_age_ms=int(self._interval * 1000),
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def _close_reader(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def refresh_group(self, watched: WatchedGroup) -> dict[TopicPartition, int]:
        consumer = await self._offsets_reader()
        partitions: list[TopicPartition] = []
        for topic in watched.topics:
            known = consumer.partitions_for_topic(topic) or set()  # unknown yet: next tick
            partitions += [TopicPartition(topic, p) for p in sorted(known)[:MAX_PARTITIONS_PER_TOPIC]]
        if not partitions:
            return {}
        ends = await consumer.end_offsets(partitions)
        beginnings = await consumer.beginning_offsets(partitions)
        admin = self._broker.config.admin_client
        offsets = await admin.list_consumer_group_offsets(watched.group, partitions=partitions)
        committed = {tp: meta.offset for tp, meta in offsets.items()}
        lag = lag_of(ends, committed, beginnings)
        for partition, value in lag.items():
            CONSUMER_LAG.labels(watched.group, partition.topic, str(partition.partition)).set(value)
        return lag

    async def refresh(self) -> None:
        for watched in self._groups:
            try:
                await asyncio.wait_for(self.refresh_group(watched), timeout=max(self._interval, 5.0))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                LAG_REFRESH_FAILURES.labels(watched.group).inc()
                log.warning(
                    "consumer lag refresh failed; retrying at the next tick",
                    extra={"group": watched.group, "error": type(error).__name__},
                )
                await self._close_reader()  # reconnect next time, in case the connection went bad

    async def run(self) -> None:
        """Refresh every ``interval`` seconds until the broker stops (or the task is cancelled)."""
        try:
            while self._broker.running:
                await self.refresh()
                await self._pause()
        finally:
            await self._close_reader()

    async def _pause(self) -> None:
        # Short naps, so the task notices promptly that the broker stopped and closes its connection.
        nap = min(0.5, self._interval)
        for _ in range(max(1, round(self._interval / nap))):
            if not self._broker.running:
                return
            await asyncio.sleep(nap)


_RUNNING: set["asyncio.Task[None]"] = set()


def watch_consumer_lag(
    broker: KafkaBroker, bootstrap_servers: str, interval: float = REFRESH_SECONDS
) -> "asyncio.Task[None] | None":
    """Start the lag monitor for every consumer group of ``broker``; call it after ``broker.start()``.

    The task ends by itself once the broker stops, closing its own Kafka connection.
    """
    groups = consumed_groups(broker)
    if not groups:
        return None
    task = asyncio.create_task(LagMonitor(broker, bootstrap_servers, groups, interval).run(), name="lag")
    _RUNNING.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_RUNNING.discard)
    return task
