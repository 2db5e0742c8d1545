"""Running one scenario: the driver sends the stream while the fault plays out, then the oracle judges.

A fault is an async function of a ``Run``: it waits for a point in the stream (``run.at(0.3)``), breaks
something, repairs it and calls ``run.fault_ended()``. From then on a watcher measures the recovery time:
until scoring has consumed everything that was on its topics when the fault ended, and every alert owed by
the submissions accepted by then has reached the sinks. When the driver is done and the platform has settled,
the run is judged: Kafka account, scoring read model against the oracle, alerts exactly once.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from reliability import oracle
from reliability.driver import DriveReport, drive
from reliability.judge import (
    INBOUND,
    Delivered,
    account_kafka,
    applied_events,
    email_alerts,
    production_order,
    reordered_clients,
    state_differences,
    webhook_alerts,
)
from reliability.platform import Platform
from reliability.receiver import Mailbox, SignedWebhookReceiver
from reliability.scorecard import ScenarioResult
from reliability.stream import StreamItem
from shared import topics


def channel_alerts(expectation: oracle.Expectation) -> set[oracle.AlertKey]:
    """The alerts a therapist's channel receives: notify sends one delivery per episode, level and reason,
    so a stale escalation at a level already alerted reaches the supervisors only (none are configured)."""
    seen: set[tuple[str, str]] = set()
    kept: set[oracle.AlertKey] = set()
    for key in expectation.alert_details:  # in the order scoring owed them
        if (key[0], key[1]) not in seen:
            seen.add((key[0], key[1]))
            kept.add(key)
    return kept


# A request in flight when an outage began may still be acknowledged: the intake waits for Kafka up to its
# publish timeout (3 s by default).
IN_FLIGHT_GRACE = 5.0


@dataclass(frozen=True)
class Outage:
    started: float  # time.monotonic()
    ended: float
    refused: int  # 503 answers the driver got meanwhile


@dataclass
class Run:
    name: str
    platform: Platform
    items: Sequence[StreamItem]
    prefix: str
    webhook: SignedWebhookReceiver
    mailbox: Mailbox | None = None
    email_addresses: dict[str, str] = field(default_factory=dict)  # clinic -> therapists' address
    report: DriveReport = field(default_factory=DriveReport)
    recoveries: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unrecovered: int = 0
    outages: list[Outage] = field(default_factory=list)
    _outage_from: tuple[float, int] | None = None
    _watchers: list["asyncio.Task[None]"] = field(default_factory=list)

    # ---- for faults --------------------------------------------------------------------------------

    async def at(self, fraction: float, within: float = 600.0) -> None:
        """Wait until ``fraction`` of the stream has been accepted."""
        target = int(len(self.items) * fraction)
        deadline = time.monotonic() + within
        while len(self.report.accepted) + len(self.report.rejected) < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: the stream did not reach {fraction:.0%}")
            await asyncio.sleep(0.05)

    async def blocking(self, work: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking step (kill, restart, stop Kafka) without stalling the driver."""
        return await asyncio.to_thread(work, *args)

    def outage_started(self) -> None:
        """From now on Kafka cannot store a write twice: the intake must refuse (503) every one."""
        self._outage_from = (time.monotonic(), self.report.unavailable)

    def outage_ended(self) -> None:
        assert self._outage_from is not None, "outage_started() first"
        started, unavailable_before = self._outage_from
        outage = Outage(started, time.monotonic(), self.report.unavailable - unavailable_before)
        self.outages.append(outage)
        self.notes.append(
            f"{outage.refused} answers 503 during the {outage.ended - outage.started:.0f} s outage"
        )
        self._outage_from = None

    def _rate_outside_outages(self) -> list[str]:
        down = sum(outage.ended - outage.started for outage in self.outages)
        if not down or self.report.seconds <= down:
            return []
        rate = self.report.acknowledged / (self.report.seconds - down)
        return [f"{rate:.0f} accepted/s outside the {down:.0f} s Kafka could not store writes"]

    def accepted_during_outages(self) -> int:
        """Writes acknowledged while the intake could not have stored them: answered later than an outage's
        start by more than a request already in flight then can take (its publish timeout, and some)."""
        return sum(
            1
            for at in list(self.report.accepted_at.values())
            for outage in self.outages
            if outage.started + IN_FLIGHT_GRACE < at < outage.ended
        )

    def fault_ended(self) -> None:
        self._watchers.append(asyncio.create_task(self._watch_recovery(time.monotonic())))

    # ---- what the sinks got ------------------------------------------------------------------------

    def delivered(self, expectation: oracle.Expectation) -> Delivered:
        delivered = webhook_alerts(self.webhook.snapshot(), self.prefix)
        if self.mailbox is not None:
            by_mail = email_alerts(self.mailbox, expectation, self.email_addresses)
            delivered.alerts += by_mail.alerts
            delivered.redelivered += by_mail.redelivered
        return delivered

    async def produced(self) -> dict[str, oracle.Produced]:
        bootstrap = self.platform.env["KAFKA_BOOTSTRAP_SERVERS"]
        found: dict[str, oracle.Produced] = await _retrying(
            lambda: production_order(bootstrap, self.prefix), 60.0
        )
        return found

    async def expectation(
        self, applied: set[tuple[str, str]] | None = None, produced: dict[str, oracle.Produced] | None = None
    ) -> oracle.Expectation:
        """What the accepted submissions owe: each client's events in the order they were produced.

        A client's session records and ratings travel on one topic and partition (``client.events``), and
        scoring applies them in that partition's order, however a crash or an outage splits the backlog. The
        oracle reads that order from Kafka rather than assuming the driver's sending order: an intake retried
        after a crash may have produced an event later than the driver sent it. Given ``applied`` (clinic,
        event id), the oracle stops at those events: what the recovery watcher waits for.
        """
        event_ids = dict(self.report.accepted)
        accepted = [item for item in self.items if item.item_id in event_ids]
        if applied is not None:
            accepted = [i for i in accepted if (i.clinic_id, event_ids[i.item_id]) in applied]
        produced = produced if produced is not None else await self.produced()
        # Seconds of pure computation for a large stream: off the event loop, which keeps driving.
        expectation: oracle.Expectation = await asyncio.to_thread(
            oracle.expect, accepted, event_ids, produced=produced
        )
        return expectation

    def _accepted_ids(self) -> set[tuple[str, str]]:
        by_item = {item.item_id: item.clinic_id for item in self.items}
        return {(by_item[item_id], event_id) for item_id, event_id in list(self.report.accepted.items())}

    # ---- recovery ----------------------------------------------------------------------------------

    async def _watch_recovery(self, ended: float, within: float = 300.0) -> None:
        """Recovered: scoring's group has committed what was on its topics when the fault ended, every
        submission accepted by then has been applied and announced (``alliance.updated`` is relayed through
        the same outbox as the alerts), and every alert owed by what is applied so far has been delivered."""
        bootstrap = self.platform.env["KAFKA_BOOTSTRAP_SERVERS"]
        group = self.platform.env["SCORING_GROUP_ID"]
        accepted_then = self._accepted_ids()
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            await _retrying(admin.start, within)
            ends = await _retrying(lambda: _end_offsets(bootstrap, INBOUND), within)
            deadline = ended + within
            caught_up = False
            while time.monotonic() < deadline:
                if not caught_up:
                    committed = await _retrying(lambda: _committed(admin, group), within)
                    caught_up = all(committed.get(tp, -1) >= end for tp, end in ends.items() if end > 0)
                if caught_up:
                    applied = await _retrying(lambda: applied_events(bootstrap, self.prefix), within)
                    if accepted_then <= applied:
                        owed = await self.expectation(applied)
                        if channel_alerts(owed) <= set(self.delivered(owed).alerts):
                            self.recoveries.append(time.monotonic() - ended)
                            return
                await asyncio.sleep(0.25)
            self.unrecovered += 1
            self.notes.append(f"did not recover within {within:.0f} s of the fault's end")
        finally:
            await admin.close()

    # ---- the run -----------------------------------------------------------------------------------

    async def execute(
        self,
        fault: Callable[["Run"], Awaitable[None]] | None,
        rate: float,
        settle_within: float = 240.0,
        batched: Collection[str] = (),
    ) -> ScenarioResult:
        started = time.monotonic()
        driving = asyncio.create_task(
            drive(
                self.platform.url("feedback"),
                {clinic: keys.ingest for clinic, keys in self.platform.keys.items()},
                self.items,
                rate=rate,
                progress_every=0,
                report=self.report,
                batched=batched,
            )
        )
        try:
            if fault is not None:
                await fault(self)
            await driving
            await asyncio.gather(*self._watchers)
        finally:
            if not driving.done():
                driving.cancel()
            for watcher in self._watchers:
                watcher.cancel()
        result = await self._settle_and_judge(settle_within)
        result.notes.append(f"ran {time.monotonic() - started:.0f} s; driver: {self.report.summary()}")
        return result

    async def _settle_and_judge(self, within: float) -> ScenarioResult:
        read_keys = {clinic: keys.read for clinic, keys in self.platform.keys.items()}
        bootstrap = self.platform.env["KAFKA_BOOTSTRAP_SERVERS"]
        started = time.monotonic()
        deadline = started + within
        produced = await self.produced()
        expectation = await self.expectation(produced=produced)
        expected_in = time.monotonic() - started
        reordered = reordered_clients(self.items, dict(self.report.accepted), produced)
        # 1. The state: every client's read model equal to the oracle's final assessment.
        differences: list[str] = ["not checked"]
        while time.monotonic() < deadline:
            differences = await state_differences(self.platform.url("scoring"), read_keys, expectation)
            if not differences:
                break
            await asyncio.sleep(1.0)
        # 2. Every owed alert delivered (and, after a pause for stragglers, nothing else).
        owed = channel_alerts(expectation)
        while time.monotonic() < deadline:
            if owed <= set(self.delivered(expectation).alerts):
                break
            await asyncio.sleep(1.0)
        # 3. Every accepted event applied by scoring: its alliance.updated is on Kafka.
        accepted = self._accepted_ids()
        applied = await _retrying(lambda: applied_events(bootstrap, self.prefix), 60.0)
        while not accepted <= applied and time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            applied = await _retrying(lambda: applied_events(bootstrap, self.prefix), 60.0)
        await asyncio.sleep(3.0)  # anything extra or doubled still in flight shows up now
        kafka = await account_kafka(
            bootstrap, self.prefix, self.report.accepted.values(), {event for _, event in applied}
        )
        delivered = self.delivered(expectation)
        verdict = oracle.judge_alerts(owed, delivered.alerts)
        return ScenarioResult(
            scenario=self.name,
            events_in=len(self.report.accepted),
            accounted=kafka.applied,
            lost=kafka.events_lost + verdict.lost,
            duplicated=verdict.duplicated,
            kafka_copies=kafka.copies,
            alerts_expected=verdict.expected,
            alerts_delivered=verdict.delivered,
            extra=kafka.extra + verdict.extra,
            redelivered=delivered.redelivered,
            state_differences=differences,
            recovery_seconds=max(self.recoveries) if self.recoveries else None,
            rejected=len(self.report.rejected),
            acknowledged=self.report.acknowledged,
            unavailable=self.report.unavailable,
            achieved_rate=self.report.achieved_rate,
            sending_seconds=self.report.seconds,
            longest_stall=self.report.longest_stall,
            unavailable_seconds=sum(outage.ended - outage.started for outage in self.outages),
            unrecovered=self.unrecovered,
            accepted_while_unavailable=self.accepted_during_outages(),
            reordered=len(reordered),
            refused_while_unavailable=sum(outage.refused for outage in self.outages),
            notes=[
                *self.notes,
                *([f"{kafka.lost} accepted events missing from Kafka"] if kafka.lost else []),
                *([f"{kafka.unapplied} accepted events in Kafka never applied"] if kafka.unapplied else []),
                *self._rate_outside_outages(),
                f"oracle's expectation in {expected_in:.1f} s, judged in {time.monotonic() - started:.1f} s",
                *(f"out of order: {client}" for client in reordered[:5]),
                *(f"not delivered: {key}" for key in sorted(owed - set(delivered.alerts))[:5]),
                *(f"not owed: {key}" for key in sorted(set(delivered.alerts) - owed)[:5]),
                *(f"rejected {item}: {why}" for item, why in list(self.report.rejected.items())[:5]),
                *([f"{delivered.unsigned} webhook calls with a bad signature"] if delivered.unsigned else []),
            ],
        )


async def _end_offsets(bootstrap: str, watched: Sequence[topics.Topic]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t.name, p) for t in watched for p in range(t.partitions)]
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def _committed(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    offsets = await admin.list_consumer_group_offsets(group)
    return {tp: meta.offset for tp, meta in offsets.items()}


async def _retrying(step: Callable[[], Awaitable[Any]], within: float) -> Any:
    """Kafka calls right after a broker restart may fail for a moment: retry them, bounded."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await asyncio.wait_for(step(), 15)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
