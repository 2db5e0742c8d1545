"""The durable delivery worker: a background task that sends due deliveries and fires escalation timers.

Sending happens here, never in the Kafka handler, so a slow SMTP server or webhook cannot stall consumption.
Every due time lives in MongoDB, so quiet hours, retries and escalations all survive restarts.
"""

import asyncio
import logging
import random
import uuid
from datetime import UTC, datetime, timedelta

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.notify.alert import Delivery
from services.notify.deliveries import DeliveryStore
from services.notify.dispatch import Dispatcher
from services.notify.escalation import Escalation
from services.notify.metrics import ALERT_LATENCY, ALERTS_FAILED, ALERTS_SENT, DELIVERY_ATTEMPTS
from services.notify.notifications import failed_event, sent_event
from services.notify.settings import NotifySettings
from shared import mongo
from shared.messaging import Outbox, OutboxRelay, is_transient
from shared.messaging.loop import WakeableLoop

log = logging.getLogger("alliance.notify.worker")
BATCH = 20


def backoff_delay(attempt: int, initial: float, cap: float) -> float:
    """Capped exponential backoff with jitter: half the step fixed, half random, so retries spread out."""
    step = min(cap, initial * 2.0 ** max(0, attempt - 1))
    return step / 2 + random.uniform(0, step / 2)


class DeliveryWorker(WakeableLoop):
    def __init__(
        self,
        client: AsyncMongoClient[mongo.Document],
        deliveries: DeliveryStore,
        outbox: Outbox,
        relay: OutboxRelay,
        dispatcher: Dispatcher,
        escalation: Escalation,
        settings: NotifySettings,
    ) -> None:
        self._client = client
        self._deliveries = deliveries
        self._outbox = outbox
        self._relay = relay
        self._dispatcher = dispatcher
        self._escalation = escalation
        self._settings = settings
        self.owner = uuid.uuid4().hex  # names this instance's claims
        super().__init__("notify-delivery-worker", settings.worker_poll_seconds)

    async def run(self) -> None:
        await self.run_steps(self.tick)

    async def tick(self) -> None:
        now = datetime.now(UTC)
        await self._escalation.escalate_overdue(now)
        lease = timedelta(seconds=self._settings.delivery_lease_seconds)
        while due := await self._deliveries.claim_due(self.owner, now, lease, BATCH):
            await asyncio.gather(*(self._deliver(delivery) for delivery in due))
            now = datetime.now(UTC)

    async def release(self) -> None:
        await self._deliveries.release(self.owner, datetime.now(UTC))

    async def _deliver(self, delivery: Delivery) -> None:
        channel = delivery.recipient.channel
        DELIVERY_ATTEMPTS.labels(delivery.clinic_id, channel).inc()
        try:
            await self._dispatcher.send(delivery)
        except Exception as error:  # any failure is retried, then reported: nothing is dropped silently
            if is_transient(error) and not isinstance(error, TimeoutError):
                raise
            await self._attempt_failed(delivery, str(error)[:300] or type(error).__name__)
            return
        await self._commit(delivery, sent=True, error="")
        ALERTS_SENT.labels(delivery.clinic_id, channel, delivery.rupture.severity.value).inc()
        if delivery.reason == "alert" and delivery.raised_at is not None:
            ALERT_LATENCY.labels(channel).observe((datetime.now(UTC) - delivery.raised_at).total_seconds())
        log.info("alert sent", extra={**_about(delivery), "channel": channel})

    async def _attempt_failed(self, delivery: Delivery, error: str) -> None:
        settings = self._settings
        if delivery.attempts < settings.delivery_attempts:
            delay = backoff_delay(
                delivery.attempts, settings.backoff_initial_seconds, settings.backoff_max_seconds
            )
            due_at = datetime.now(UTC) + timedelta(seconds=delay)
            await self._deliveries.retry_at(delivery, self.owner, due_at, error)
            log.warning("delivery attempt failed", extra={**_about(delivery), "error": error})
            return
        await self._commit(delivery, sent=False, error=error)
        ALERTS_FAILED.labels(
            delivery.clinic_id, delivery.recipient.channel, delivery.rupture.severity.value
        ).inc()
        log.error("delivery failed for good", extra={**_about(delivery), "error": error})

    async def _commit(self, delivery: Delivery, *, sent: bool, error: str) -> None:
        """Mark the delivery sent or failed and stage its audit event, in one transaction."""

        async def work(session: AsyncClientSession) -> None:
            now = datetime.now(UTC)
            if sent:
                if await self._deliveries.mark_sent(session, delivery, self.owner, now):
                    await self._outbox.stage(session, [sent_event(delivery, now)])
            elif await self._deliveries.mark_failed(session, delivery, self.owner, now, error):
                await self._outbox.stage(session, [failed_event(delivery, now, error)])

        await mongo.in_transaction(self._client, work)
        self._relay.wake()


def _about(delivery: Delivery) -> dict[str, str]:
    """What every log line about a delivery names: the event it came from and the delivery itself."""
    return {"event_id": delivery.event_id, "delivery_id": delivery.delivery_id}
