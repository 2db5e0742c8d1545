"""Writing accepted submissions to Kafka, where "accepted" means acknowledged by every in-sync replica.

Why this producer is *not* idempotent (no producer of the platform is; docs/integration.md): aiokafka's
idempotent producer never expires a batch, it retries until the broker is back. A request answered 503 while Kafka is down would then still land
minutes later, a ghost event the caller was told did not happen. Without idempotence a batch that is not
acknowledged within ``publish_timeout_ms`` fails for good and is dropped, so 503 means "not stored". The rare
duplicate a plain retry can cause carries the same CloudEvents id, and every consumer deduplicates on it.
"""

import asyncio
from collections.abc import Sequence
from functools import partial
from typing import Any

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY

from services.feedback.metrics import count_accepted
from services.feedback.settings import FeedbackSettings
from shared.contracts import CloudEvent, EventKind, encode
from shared.messaging import DeliveryGuard
from shared.messaging.broker import CLOUDEVENTS_JSON

Publication = tuple[EventKind[Any], CloudEvent[Any]]


class EventStoreUnavailable(Exception):
    """Kafka did not acknowledge in time; the write was dropped, nothing was stored."""


def intake_broker(settings: FeedbackSettings, service: str) -> KafkaBroker:
    broker = KafkaBroker(
        settings.kafka_servers,
        client_id=f"alliance-{service}",
        acks="all",
        enable_idempotence=False,  # see the module docstring
        linger_ms=2,
        request_timeout_ms=settings.publish_timeout_ms,
        retry_backoff_ms=100,
        graceful_timeout=settings.shutdown_grace_seconds,
        middlewares=[KafkaPrometheusMiddleware(registry=REGISTRY, app_name=service)],
        logger=None,
    )
    broker.add_middleware(partial(DeliveryGuard, broker=broker))
    return broker


async def publish_all(broker: KafkaBroker, publications: Sequence[Publication]) -> list[bool]:
    """Send every event at once, then wait for each acknowledgement; True where Kafka acknowledged.

    Sent one after the other in the given order: the producer appends them to their partition's batch in
    that order and keeps one request in flight per broker, so events of one client (one key, one partition)
    are stored in the order given. Nothing here may send them concurrently or regrouped.
    """
    confirmations: list[asyncio.Future[Any]] = []
    for kind, event in publications:
        try:
            confirmations.append(
                await broker.publish(
                    encode(event),
                    topic=kind.topic.name,
                    key=(event.subject or event.clinicid).encode(),
                    headers={"content-type": CLOUDEVENTS_JSON, "ce-id": event.id},
                    no_confirm=True,
                )
            )
        except (KafkaError, TimeoutError) as error:  # no metadata within the timeout: Kafka is unreachable
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(error)
            confirmations.append(failed)
    outcomes = await asyncio.gather(*confirmations, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, KafkaError | TimeoutError):
            raise outcome
    acknowledged = [not isinstance(outcome, BaseException) for outcome in outcomes]
    for (kind, event), stored in zip(publications, acknowledged, strict=True):
        if stored:
            count_accepted(kind, event)
    return acknowledged


async def publish_one(broker: KafkaBroker, kind: EventKind[Any], event: CloudEvent[Any]) -> None:
    if not (await publish_all(broker, [(kind, event)]))[0]:
        raise EventStoreUnavailable


__all__ = ["EventStoreUnavailable", "Publication", "intake_broker", "publish_all", "publish_one"]
