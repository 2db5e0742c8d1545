"""The Kafka broker every service uses: durable producer settings, metrics, the delivery guard, and the content
mode events are written in."""

import json
from functools import partial
from typing import Any

from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY

from shared import tracing
from shared.contracts import CloudEvent, EventKind
from shared.contracts.binding import CLOUDEVENTS_JSON, CONTENT_TYPE, EVENT_ID_HEADER, binary_record, to_record
from shared.messaging.delivery import DeliveryGuard
from shared.settings import ServiceSettings
from shared.topics import DEAD_LETTER


def make_broker(settings: ServiceSettings, service: str, **producer: Any) -> KafkaBroker:
    """The broker of ``service``; ``producer`` overrides the producer settings below (the intake's own)."""
    broker = KafkaBroker(
        settings.kafka_servers,
        client_id=f"alliance-{service}",
        **{
            # A write counts only once every in-sync replica has it.
            "acks": "all",
            # Not idempotent: aiokafka's idempotent producer dies for good on OutOfOrderSequenceNumber, which a
            # broker restart can provoke, and every later send of the process then fails (the outbox relay
            # stalled until a restart in `make reliability`). Order holds without it (aiokafka keeps one
            # request in flight per broker); a retry that writes a record twice repeats an event id, which
            # consumers drop.
            "enable_idempotence": False,
            "linger_ms": 5,
            "request_timeout_ms": 10_000,
            **producer,
        },
        graceful_timeout=settings.shutdown_grace_seconds,
        middlewares=[KafkaPrometheusMiddleware(registry=REGISTRY, app_name=service)],
        logger=None,
    )
    broker.add_middleware(partial(DeliveryGuard, broker=broker))
    if settings.event_content_mode == "binary":
        broker.add_middleware(BinaryContentMode)
    tracing.instrument_broker(broker)
    return broker


class BinaryContentMode(BaseMiddleware):
    """Writes each event the process publishes in the binding's binary content mode (``EVENT_CONTENT_MODE``).

    Every producer builds the structured record (``to_record``); turning it into a binary one here, where records
    leave the process, keeps the choice in one place: the intake, the outboxes and the key and erasure events
    follow it without knowing of it. Dead letters keep the bytes and headers they arrived with.
    """

    async def publish_scope(self, call_next: Any, cmd: Any) -> Any:
        is_event = cmd.headers.get(CONTENT_TYPE) == CLOUDEVENTS_JSON and cmd.destination != DEAD_LETTER.name
        if is_event and isinstance(cmd.body, bytes):
            record = binary_record(cmd.key, json.loads(cmd.body))
            kept = {k: v for k, v in cmd.headers.items() if k not in (CONTENT_TYPE, EVENT_ID_HEADER)}
            cmd.body, cmd.headers = record.value, {**kept, **record.headers}
        return await call_next(cmd)


async def publish_event(broker: KafkaBroker, kind: EventKind[Any], event: CloudEvent[Any]) -> None:
    """Publish and wait for the broker's acknowledgement (acks=all)."""
    record = to_record(event)
    await broker.publish(record.value, topic=kind.topic.name, key=record.key, headers=record.headers)
