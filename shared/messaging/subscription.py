"""How every service subscribes to an event topic: decoded by the contract, committed only after success.

``subscribe`` hands the handler one event at a time. ``subscribe_batch`` hands it every event of one poll
(up to ``max_records``, across partitions and topics) so that it can apply them in one unit of work; offsets
are committed once the whole batch is durable. A topic may carry several event kinds (``client.events``
carries a client's whole history, so that it stays in production order): each record is decoded by the kind
its CloudEvent ``type`` names, and a type the subscriber does not read there is a contract violation. A poll returns its records grouped by partition; the batch is
handed over merged into the order the records were produced in (each partition's own order kept), so after a
backlog (a consumer restarted, a slow database) one client's events from two topics are applied in the order
they happened, not all of one topic's first. Its delivery rules are those of one message, per record:

- a record that cannot be decoded, or that the handler refuses (it returns its position with the reason), is
  dead-lettered on its own, with its original bytes, after the rest of the batch was applied;
- a transient failure retries the whole batch with capped backoff (the delivery guard); what was already
  applied is skipped by the handler's idempotence, so nothing is skipped and nothing applied twice;
- an unexpected failure of the batch falls back to one record at a time, each with the guard's policy, so
  only the record that keeps failing is dead-lettered (reason ``handler``).
"""

import functools
import heapq
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from pydantic import ValidationError

from shared import tracing
from shared.contracts import CloudEvent, ContractViolation, EventKind
from shared.contracts.binding import read_record
from shared.contracts.registry import TYPE_PREFIX, json_object
from shared.messaging.delivery import dead_letter, is_transient, log, retrying

Headers = Sequence[tuple[str, bytes]]


def decode_event(
    kind: EventKind[Any], raw: bytes | Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> CloudEvent[Any]:
    """``kind.decode(raw)`` with one validation instead of two for the latest version (the common case).

    For the latest version ``decode`` validates ``data`` with the model, then the envelope, which validates
    ``data`` with the same model again; validating the envelope alone accepts and builds exactly the same.
    Anything else, and anything invalid, goes through ``decode`` itself, which names the problem. ``context``
    is pydantic's validation context (``STORED`` for an event read back from the platform's own store).
    """
    try:
        document = json.loads(raw) if isinstance(raw, bytes | bytearray) else raw
    except ValueError:
        document = None
    if isinstance(document, Mapping) and document.get("type") == kind.type_name():
        try:
            return _envelope_model(kind).model_validate(document, context=context)
        except ValidationError:
            pass
    return kind.decode(raw)


@functools.cache
def _envelope_model(kind: EventKind[Any]) -> type[CloudEvent[Any]]:
    return CloudEvent[kind.model]  # type: ignore[name-defined]


@dataclass(frozen=True)
class InboundTopics:
    """The kinds a consumer reads, by the topic they arrive on (where each is published, and its deprecated
    former topics): how one record is decoded, knowing only its topic and bytes."""

    carried: Mapping[str, tuple[EventKind[Any], ...]]

    @classmethod
    def of(cls, kinds: Sequence[EventKind[Any]]) -> "InboundTopics":
        carried: dict[str, tuple[EventKind[Any], ...]] = {}
        for kind in kinds:
            for topic in kind.consumed_topics:
                carried[topic.name] = (*carried.get(topic.name, ()), kind)
        return cls(carried)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.carried)

    def decode(self, topic: str, value: bytes | None, headers: Headers = ()) -> CloudEvent[Any]:
        """Decode a record of ``topic`` in either content mode; ContractViolation with the reason if it can never
        be processed."""
        kinds = self.carried[topic]
        raw = read_record(value, headers)
        if len(kinds) == 1:
            return decode_event(kinds[0], raw)  # the kind itself names a foreign type on its topic
        document = json_object(raw)
        return decode_event(_kind_named(document.get("type"), kinds, topic), document)

    def read(self, record: Any) -> CloudEvent[Any]:
        """One consumed record (aiokafka's ConsumerRecord) decoded, with its key checked against the event: what
        the live consumer dead-letters, and the replay skips."""
        event = self.decode(record.topic, record.value, record.headers or ())
        check_key(record.key, event)
        return event


def _kind_named(type_name: object, kinds: Sequence[EventKind[Any]], topic: str) -> EventKind[Any]:
    """The kind whose name the CloudEvent ``type`` (``org.alliance.<name>.v<N>``) carries."""
    if isinstance(type_name, str):
        for kind in kinds:
            prefix = f"{TYPE_PREFIX}{kind.name}.v"
            if type_name.startswith(prefix) and type_name[len(prefix) :].isdigit():
                return kind
    read = ", ".join(f"{TYPE_PREFIX}{kind.name}" for kind in kinds)
    raise ContractViolation(f"unknown event type {type_name!r} on topic {topic} (read here: {read})")


def decode_record(kind: EventKind[Any], record: Any) -> CloudEvent[Any]:
    """One consumed record of ``kind``'s topic (aiokafka's ConsumerRecord), in either content mode, with its key
    checked against the event."""
    event = decode_event(kind, read_record(record.value, record.headers or ()))
    check_key(record.key, event)
    return event


def contract_decoder(kind: EventKind[Any]) -> Callable[[StreamMessage[Any]], Awaitable[CloudEvent[Any]]]:
    async def decode(message: StreamMessage[Any]) -> CloudEvent[Any]:
        return decode_record(kind, message.raw_message)

    return decode


def check_key(key: bytes | None, event: CloudEvent[Any]) -> None:
    """Every producer keys a record by its event's subject (``clinic_id:client_id``; the key hash on
    ``clinic.keys``). A record without that key sits on an arbitrary partition, outside its client's order,
    and on a compacted topic it would never be compacted: it is refused like any other contract breach. A key
    naming another clinic than ``clinicid`` is refused saying so: the tenant is ``clinicid`` alone."""
    expected = (event.subject or event.clinicid).encode()
    if key == expected:
        return
    text = key.decode(errors="replace") if key is not None else ""
    clinic = text.split(":", 1)[0][:64] if ":" in text else None
    if clinic is not None and clinic != event.clinicid:
        raise ContractViolation(
            f"record key names clinic {clinic!r}, not the event's clinicid {event.clinicid!r}"
        )
    shown = "no key" if key is None else f"key of {len(key)} bytes"
    raise ContractViolation(f"message has {shown}, not the event's subject")


Handler = Callable[..., Awaitable[Any]]
# Applies the events (in the given order) durably in one unit of work and returns the positions of those it
# refused, with the reason; nothing of a refused event may have been applied. Raises on any other failure.
BatchHandler = Callable[[Sequence[CloudEvent[Any]]], Awaitable[Mapping[int, ContractViolation]]]

# A batch waits at most this long for its first record.
BATCH_TIMEOUT_MS = 100
MAX_RECORDS = 500
# The broker holds a fetch until this much has gathered or this long has passed: under load a batch then carries
# many events into one transaction instead of one or two. A transaction costs its replica set several
# milliseconds of CPU (a majority commit on three members), far more than an event applied inside it; idle, the
# wait adds at most FETCH_WAIT_MS to an alert's way.
FETCH_MIN_BYTES = 64 * 1024
FETCH_WAIT_MS = 50


def subscribe(
    broker: KafkaBroker, kind: EventKind[Any], group_id: str, instance_id: str | None = None
) -> Callable[[Handler], Any]:
    """A subscriber decorator for ``kind``'s topic in consumer group ``group_id``.

    Offsets are committed after the handler returned (the effect is durable by then); an error that escapes
    the delivery guard rewinds to the message instead of committing past it. ``instance_id`` (the replica's
    ``INSTANCE_ID``) makes the consumer a static member of its group, named after the replica and the topic.
    """
    return broker.subscriber(
        kind.topic.name,
        group_id=group_id,
        group_instance_id=f"{instance_id}.{kind.topic.name}" if instance_id else None,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=contract_decoder(kind),
    )


@dataclass(frozen=True, slots=True)
class Delivery:
    """One consumed record: its decoded event, or why it can never be processed."""

    record: Any  # aiokafka's ConsumerRecord
    event: CloudEvent[Any] | None
    violation: ContractViolation | None = None


def batch_decoder(
    kinds: Sequence[EventKind[Any]],
) -> Callable[[StreamMessage[Any]], Awaitable[list[Delivery]]]:
    inbound = InboundTopics.of(kinds)

    async def decode(message: StreamMessage[Any]) -> list[Delivery]:
        deliveries: list[Delivery] = []
        for record in in_production_order(message.raw_message):
            try:
                deliveries.append(Delivery(record, inbound.read(record)))
            except ContractViolation as violation:
                deliveries.append(Delivery(record, None, violation))
        return deliveries

    return decode


def in_production_order(records: Sequence[Any]) -> list[Any]:
    """The records of one poll merged by their timestamp (the producer's), each partition's order kept.

    A merge, not a sort: should clocks disagree, a partition's records still never overtake each other.
    """
    partitions: dict[tuple[str, int], list[Any]] = {}
    for record in records:
        partitions.setdefault((record.topic, record.partition), []).append(record)
    return list(heapq.merge(*partitions.values(), key=lambda record: record.timestamp))


def subscribe_batch(
    broker: KafkaBroker,
    kinds: Sequence[EventKind[Any]],
    group_id: str,
    *,
    max_records: int = MAX_RECORDS,
    batch_timeout_ms: int = BATCH_TIMEOUT_MS,
    instance_id: str | None = None,
    decoder: Callable[[StreamMessage[Any]], Awaitable[list[Delivery]]] | None = None,
    fetch_wait_ms: int = FETCH_WAIT_MS,
) -> Callable[[BatchHandler], BatchHandler]:
    """A decorator subscribing a ``BatchHandler`` to the topics of ``kinds`` (deprecated former topics
    included) in group ``group_id``: one
    consumer, batches of up to ``max_records`` records, offsets committed after each batch. ``instance_id``
    (the replica's ``INSTANCE_ID``) makes that consumer a static member of the group. ``decoder`` replaces the
    one that reads every record as one of ``kinds``: for a consumer that wants only some kinds of a shared
    topic, which may also wait longer for each fetch (``fetch_wait_ms``), and so commit less often."""

    def register(handler: BatchHandler) -> BatchHandler:
        async def consume_batch(deliveries: Any) -> None:
            await apply_batch(broker, handler, deliveries)

        consume_batch.__name__ = consume_batch.__qualname__ = handler.__name__
        consume_batch.__doc__ = handler.__doc__
        broker.subscriber(
            *InboundTopics.of(kinds).names,
            group_id=group_id,
            group_instance_id=instance_id,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            # The topics are co-partitioned (same partition count, same key): the range assignor gives
            # partition p of every topic to the same replica, so one client's events from all of them are
            # applied by one process, in one merged order (a client's history on ``client.events`` is in
            # order by itself; the merge keeps it so beside acknowledgements and the deprecated topics). Round robin (aiokafka's default) could split them
            # between replicas; it stays listed so that a group with members of an older release can still
            # agree on a protocol during a rolling upgrade.
            partition_assignment_strategy=(RangePartitionAssignor, RoundRobinPartitionAssignor),
            batch=True,
            max_records=max_records,
            batch_timeout_ms=batch_timeout_ms,
            fetch_min_bytes=FETCH_MIN_BYTES,
            fetch_max_wait_ms=fetch_wait_ms,
            decoder=decoder or batch_decoder(kinds),
        )(consume_batch)
        return handler

    return register


async def apply_batch(broker: KafkaBroker, handler: BatchHandler, deliveries: Sequence[Delivery]) -> None:
    """Apply the decodable records in one call, then dead-letter the poison ones in their original order."""
    decoded = [(position, d.event) for position, d in enumerate(deliveries) if d.event is not None]
    refused: dict[int, ContractViolation] = {
        position: d.violation for position, d in enumerate(deliveries) if d.violation is not None
    }
    failed: dict[int, Exception] = {}
    try:
        applied = [(deliveries[position].record.headers, event) for position, event in decoded]
        with tracing.event_spans(applied):
            outcome = await handler([event for _, event in decoded]) if decoded else {}
        refused.update({decoded[index][0]: violation for index, violation in outcome.items()})
    except Exception as error:
        if is_transient(error):
            raise  # the guard retries the whole batch with backoff
        log.warning(
            "batch failed unexpectedly; applying its records one at a time",
            extra={"records": len(decoded), "error": type(error).__name__},
        )
        for position, event in decoded:
            problem = await _apply_alone(handler, event, deliveries[position].record.topic)
            if isinstance(problem, ContractViolation):
                refused[position] = problem
            elif problem is not None:
                failed[position] = problem
    for position in sorted({*refused, *failed}):
        record = deliveries[position].record
        if position in refused:
            await dead_letter(broker, record, record.value or b"", "contract", str(refused[position]))
        else:
            log.error("record failed repeatedly; dead-lettered", extra={"topic": record.topic})
            detail = f"{type(failed[position]).__name__} after retries"
            await dead_letter(broker, record, record.value or b"", "handler", detail)


async def _apply_alone(handler: BatchHandler, event: CloudEvent[Any], topic: str) -> Exception | None:
    """Apply one event with the guard's retry policy; what finally went wrong with it, if anything."""
    try:
        async for attempt in retrying(topic):
            with attempt:
                refusals = await handler([event])
        return next(iter(refusals.values()), None)
    except Exception as error:
        return error
