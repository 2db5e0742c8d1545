"""Escalation: an alert of medium or higher nobody acknowledged by its deadline goes to the supervisors.

An erased client's episode whose timer is found here (recorded in the moment of the erasure) is purged, never
escalated."""

import logging
from datetime import datetime

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.notify.deliveries import DeliveryStore
from services.notify.episodes import EpisodeStore
from services.notify.erasure import Erasures
from services.notify.metrics import ALERTS_UNROUTED, ESCALATIONS
from services.notify.planning import plan_escalation
from services.notify.routing import ClinicRouting
from services.notify.routing_store import RoutingStore
from shared import mongo
from shared.contracts import RuptureSuspectedV4

log = logging.getLogger("alliance.notify.escalation")


class Escalation:
    def __init__(
        self,
        client: AsyncMongoClient[mongo.Document],
        episodes: EpisodeStore,
        deliveries: DeliveryStore,
        routing: RoutingStore,
        erasures: Erasures,
    ) -> None:
        self._client = client
        self._episodes = episodes
        self._deliveries = deliveries
        self._routing = routing
        self._erasures = erasures

    async def escalate_overdue(self, now: datetime) -> int:
        """Escalate every episode whose timer passed; returns how many were escalated."""
        escalated = 0
        for episode in await self._episodes.overdue(now):
            clinic_id, client_id = episode["clinic_id"], episode["client_id"]  # kept with every alert noted
            if await self._erasures.drop_work(clinic_id, client_id, {"rupture_id": episode["rupture_id"]}):
                continue
            escalated += await self._escalate(clinic_id, episode["_id"], now)
        return escalated

    async def _escalate(self, clinic_id: str, key: str, now: datetime) -> int:
        routing = await self._routing.get(clinic_id) or ClinicRouting()

        async def work(session: AsyncClientSession) -> RuptureSuspectedV4 | None:
            taken = await self._episodes.take_overdue(session, key, now)
            if taken is None:
                return None  # acknowledged or escalated by another instance meanwhile
            rupture = RuptureSuspectedV4.model_validate(taken["rupture"])
            planned = plan_escalation(clinic_id, rupture, routing, now)
            await self._deliveries.record(session, clinic_id, f"escalation:{key}", rupture, planned, now)
            return rupture

        rupture = await mongo.in_transaction(self._client, work)
        if rupture is None:
            return 0
        ESCALATIONS.labels(clinic_id, rupture.severity.value).inc()
        if not routing.supervisors:
            ALERTS_UNROUTED.labels(clinic_id).inc()
            log.warning("escalation without supervisors", extra={"clinic_id": clinic_id})
        return 1
