"""Consumes rupture.suspected (records who is owed which alert, durably, and nothing more) and
rupture.acknowledged (an acknowledgement made anywhere stops the escalation timer).

An alert from history (``from_history``: an imported or backfilled session past the clinic's push horizon) is
recorded with its episode and counted, but owes no delivery and arms no escalation.

One transaction records the delivery intents and the episode's escalation timer; the offset is committed
after it. The delivery worker sends. A redelivered event plans the same delivery ids and changes nothing.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.notify.acknowledgement import Acknowledgements
from services.notify.deliveries import DeliveryStore
from services.notify.episodes import EpisodeStore
from services.notify.metrics import ALERTS_FROM_HISTORY, ALERTS_UNROUTED
from services.notify.planning import plan_alert
from services.notify.routing_store import RoutingStore
from shared import mongo
from shared.contracts import (
    RUPTURE_ACKNOWLEDGED,
    RUPTURE_SUSPECTED,
    CloudEvent,
    RuptureAcknowledgedV1,
    RuptureSuspectedV3,
)
from shared.messaging import subscribe

log = logging.getLogger("alliance.notify")


class AlertIntake:
    def __init__(
        self,
        client: AsyncMongoClient[mongo.Document],
        routing: RoutingStore,
        deliveries: DeliveryStore,
        episodes: EpisodeStore,
        fallback_webhook: str | None,
        wake_worker: Callable[[], None],
    ) -> None:
        self._client = client
        self._routing = routing
        self._deliveries = deliveries
        self._episodes = episodes
        self._fallback_webhook = fallback_webhook
        self._wake_worker = wake_worker

    async def take(self, event: CloudEvent[RuptureSuspectedV3]) -> int:
        """Record the alert's deliveries; returns how many were new."""
        clinic_id, rupture, now = event.clinicid, event.data, datetime.now(UTC)
        plan = plan_alert(clinic_id, rupture, await self._routing.get(clinic_id), self._fallback_webhook, now)

        async def work(session: AsyncClientSession) -> tuple[bool, int]:
            noted = await self._episodes.note_alert(
                session, clinic_id, rupture, plan.escalate_at, event.id, now
            )
            recorded = await self._deliveries.record(
                session, clinic_id, event.id, rupture, plan.deliveries, now, raised_at=event.time
            )
            return noted, recorded

        noted, new = await mongo.in_transaction(self._client, work)
        if rupture.from_history:
            if noted:  # once per alert, however often Kafka redelivers it
                ALERTS_FROM_HISTORY.labels(clinic_id).inc()
            log.info(
                "alert from history recorded, not pushed",
                extra={"event_id": event.id, "clinic_id": clinic_id, "severity": rupture.severity.value},
            )
            return 0
        if plan.unrouted and (new or not plan.deliveries):
            ALERTS_UNROUTED.labels(clinic_id).inc()
        if not plan.deliveries:
            log.info("alert with nowhere to go", extra={"event_id": event.id, "clinic_id": clinic_id})
        if new:
            self._wake_worker()
        return new


def register(
    broker: KafkaBroker,
    intake: AlertIntake,
    acknowledgements: Acknowledgements,
    group_id: str,
    instance_id: str | None = None,
) -> None:
    @subscribe(broker, RUPTURE_SUSPECTED, group_id, instance_id)
    async def on_rupture_suspected(event: CloudEvent[RuptureSuspectedV3]) -> None:
        await intake.take(event)

    @subscribe(broker, RUPTURE_ACKNOWLEDGED, group_id, instance_id)
    async def on_rupture_acknowledged(event: CloudEvent[RuptureAcknowledgedV1]) -> None:
        await acknowledgements.acknowledged_elsewhere(event)
