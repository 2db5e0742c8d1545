"""The Kafka broker every service uses: durable producer settings, metrics and the delivery guard."""

from functools import partial
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY

from shared import tracing
from shared.contracts import CloudEvent, EventKind, encode
from shared.messaging.delivery import DeliveryGuard
from shared.settings import ServiceSettings

CLOUDEVENTS_JSON = "application/cloudevents+json; charset=utf-8"


def make_broker(settings: ServiceSettings, service: str) -> KafkaBroker:
    broker = KafkaBroker(
        settings.kafka_servers,
        client_id=f"alliance-{service}",
        # A write counts only once every in-sync replica has it.
        acks="all",
        # Not idempotent: aiokafka's idempotent producer dies for good on OutOfOrderSequenceNumber, which a
        # broker restart can provoke, and every later send of the process then fails (the outbox relay stalled
        # until a restart in `make reliability`). Order holds without it (aiokafka keeps one request in flight
        # per broker); a retry that writes a record twice repeats an event id, which consumers drop.
        enable_idempotence=False,
        linger_ms=5,
        request_timeout_ms=10_000,
        graceful_timeout=settings.shutdown_grace_seconds,
        middlewares=[KafkaPrometheusMiddleware(registry=REGISTRY, app_name=service)],
        logger=None,
    )
    broker.add_middleware(partial(DeliveryGuard, broker=broker))
    tracing.instrument_broker(broker)
    return broker


async def publish_event(broker: KafkaBroker, kind: EventKind[Any], event: CloudEvent[Any]) -> None:
    """Publish and wait for the broker's acknowledgement (acks=all)."""
    await broker.publish(
        encode(event),
        topic=kind.topic.name,
        key=(event.subject or event.clinicid).encode(),
        headers={"content-type": CLOUDEVENTS_JSON, "ce-id": event.id},
    )
