"""The durable delivery worker: a background task that sends due deliveries and fires escalation timers.

Sending happens here, never in the Kafka handler, so a slow SMTP server or webhook cannot stall consumption.
Every due time lives in MongoDB, so quiet hours, retries and escalations all survive restarts. Alerts and client
page links go through the same claims, retries and backoff; only alerts have audit events (the
``notification.*`` contracts are about ruptures). A delivery of an erased client found here (recorded in the
moment of the erasure, or left by a purge cut off) is purged instead of sent.
"""

import asyncio
import logging
import random
import uuid
from datetime import UTC, datetime, timedelta

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.notify.alert import Delivery
from services.notify.client_pages import ClientPageDelivery
from services.notify.deliveries import DeliveryStore, Outgoing
from services.notify.dispatch import Dispatcher
from services.notify.erasure import Erasures
from services.notify.escalation import Escalation
from services.notify.metrics import (
    ALERT_LATENCY,
    ALERTS_FAILED,
    ALERTS_SENT,
    CLIENT_PAGE_LINK_ATTEMPTS,
    CLIENT_PAGE_LINKS_FAILED,
    CLIENT_PAGE_LINKS_SENT,
    DELIVERY_ATTEMPTS,
)
from services.notify.notifications import failed_event, sent_event
from services.notify.settings import NotifySettings
from shared import mongo, tracing
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
        erasures: Erasures,
    ) -> None:
        self._client = client
        self._deliveries = deliveries
        self._outbox = outbox
        self._relay = relay
        self._dispatcher = dispatcher
        self._escalation = escalation
        self._settings = settings
        self._erasures = erasures
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

    async def _deliver(self, delivery: Outgoing) -> None:
        if await self._erasures.drop_work(delivery.clinic_id, client_of(delivery), _about(delivery)):
            return  # looked at right before sending: the erasure may have come after the claim
        _count_attempt(delivery)
        try:
            # The call is the last span of the trace the alert (or the note) came on.
            with tracing.continued(delivery.trace):
                await self._dispatcher.send(delivery)
        except Exception as error:  # any failure is retried, then reported: nothing is dropped silently
            if is_transient(error) and not isinstance(error, TimeoutError):
                raise
            await self._attempt_failed(delivery, str(error)[:300] or type(error).__name__)
            return
        await self._commit(delivery, sent=True, error="")
        if isinstance(delivery, ClientPageDelivery):
            CLIENT_PAGE_LINKS_SENT.labels(delivery.clinic_id).inc()
            log.info("client page link sent", extra=_about(delivery))
            return
        channel = delivery.recipient.channel
        ALERTS_SENT.labels(delivery.clinic_id, channel, delivery.rupture.severity.value).inc()
        if delivery.reason == "alert" and delivery.raised_at is not None:
            latency = (datetime.now(UTC) - delivery.raised_at).total_seconds()
            ALERT_LATENCY.labels(channel).observe(latency, exemplar=tracing.exemplar_of(delivery.trace))
        log.info("alert sent", extra={**_about(delivery), "channel": channel})

    async def _attempt_failed(self, delivery: Outgoing, error: str) -> None:
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
        if isinstance(delivery, ClientPageDelivery):
            CLIENT_PAGE_LINKS_FAILED.labels(delivery.clinic_id).inc()
        else:
            ALERTS_FAILED.labels(
                delivery.clinic_id, delivery.recipient.channel, delivery.rupture.severity.value
            ).inc()
        log.error("delivery failed for good", extra={**_about(delivery), "error": error})

    async def _commit(self, delivery: Outgoing, *, sent: bool, error: str) -> None:
        """Mark the delivery sent or failed and stage an alert's audit event, in one transaction."""

        async def work(session: AsyncClientSession) -> None:
            now = datetime.now(UTC)
            if sent:
                marked = await self._deliveries.mark_sent(session, delivery, self.owner, now)
            else:
                marked = await self._deliveries.mark_failed(session, delivery, self.owner, now, error)
            if marked and isinstance(delivery, Delivery):
                audit = sent_event(delivery, now) if sent else failed_event(delivery, now, error)
                await self._outbox.stage(session, [audit])

        await mongo.in_transaction(self._client, work)
        self._relay.wake()


def client_of(delivery: Outgoing) -> str:
    return delivery.client_id if isinstance(delivery, ClientPageDelivery) else delivery.rupture.client_id


def _count_attempt(delivery: Outgoing) -> None:
    if isinstance(delivery, ClientPageDelivery):
        CLIENT_PAGE_LINK_ATTEMPTS.labels(delivery.clinic_id).inc()
    else:
        DELIVERY_ATTEMPTS.labels(delivery.clinic_id, delivery.recipient.channel).inc()


def _about(delivery: Outgoing) -> dict[str, str]:
    """What every log line about a delivery names: the event it came from, the delivery itself and the trace
    it is on (never a link's URL, which opens the client's page)."""
    about = {"event_id": delivery.event_id, "delivery_id": delivery.delivery_id}
    return about | (tracing.exemplar_of(delivery.trace) or {})
