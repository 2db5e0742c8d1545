"""Consumes rupture.suspected (records who is owed which alert, durably, and nothing more),
rupture.acknowledged (an acknowledgement made anywhere stops the escalation timer) and the note.shared events
of client.events (records the client page link owed to the clinic's system, if its routing asks for links).

An alert from history (``from_history``: an imported or backfilled session past the clinic's push horizon) is
recorded with its episode and counted, but owes no delivery and arms no escalation.

One transaction records the delivery intents and the episode's escalation timer; the offset is committed
after it. The delivery worker sends. A redelivered event plans the same delivery ids and changes nothing.

An event of an erased client is dropped and counted (never dead-lettered: it is valid, only too late); one
recorded in the moment its client was erased is purged again right after (``Erasures.settle``).
"""

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.notify.acknowledgement import Acknowledgements
from services.notify.client_events import client_pages_group, subscribe_note_shared
from services.notify.client_pages import ClientPageDelivery, plan_client_page
from services.notify.deliveries import DeliveryStore
from services.notify.episodes import EpisodeStore
from services.notify.erasure import Erasures
from services.notify.metrics import ALERTS_FROM_HISTORY, ALERTS_UNROUTED
from services.notify.planning import plan_alert
from services.notify.routing import ClinicRouting
from services.notify.routing_store import RoutingStore
from shared import mongo, tracing
from shared.client_links import ClientPages
from shared.contracts import (
    RUPTURE_ACKNOWLEDGED,
    RUPTURE_SUSPECTED,
    CloudEvent,
    ContractViolation,
    NoteSharedV2,
    RuptureAcknowledgedV2,
    RuptureSuspectedV4,
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
        erasures: Erasures,
    ) -> None:
        self._client = client
        self._routing = routing
        self._deliveries = deliveries
        self._episodes = episodes
        self._fallback_webhook = fallback_webhook
        self._wake_worker = wake_worker
        self._erasures = erasures

    async def take(self, event: CloudEvent[RuptureSuspectedV4]) -> int:
        """Record the alert's deliveries; returns how many were new."""
        clinic_id, rupture, now = event.clinicid, event.data, datetime.now(UTC)
        if self._erasures.drop(clinic_id, rupture.client_id):
            return 0
        plan = plan_alert(clinic_id, rupture, await self._routing.get(clinic_id), self._fallback_webhook, now)

        async def work(session: AsyncClientSession) -> tuple[bool, int]:
            noted = await self._episodes.note_alert(
                session, clinic_id, rupture, plan.escalate_at, event.id, now
            )
            recorded = await self._deliveries.record(
                session,
                clinic_id,
                event.id,
                rupture,
                plan.deliveries,
                now,
                raised_at=event.time,
                trace=tracing.carrier(),
            )
            return noted, recorded

        noted, new = await mongo.in_transaction(self._client, work)
        if await self._erasures.settle(clinic_id, rupture.client_id):  # erased while this was being recorded
            return 0
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


class ClientPageIntake:
    """Records, for each shared note, the client page link its clinic's system is owed; the worker sends it.

    The link is minted here and stored with the intent, so every attempt sends the same one. Each intent is one
    idempotent upsert keyed by the delivery id (clinic and note), and nothing else changes: no transaction is
    needed, and a redelivered note records nothing (the link minted for it again is dropped)."""

    def __init__(
        self,
        routing: RoutingStore,
        deliveries: DeliveryStore,
        pages: ClientPages,
        wake_worker: Callable[[], None],
        erasures: Erasures,
    ) -> None:
        self._routing = routing
        self._deliveries = deliveries
        self._pages = pages
        self._wake_worker = wake_worker
        self._erasures = erasures

    async def take(self, events: Sequence[CloudEvent[NoteSharedV2]]) -> int:
        """Record the links owed for ``events``; returns how many were new. The note's words are not kept."""
        now = datetime.now(UTC)
        routings: dict[str, ClinicRouting | None] = {}
        links: list[ClientPageDelivery] = []
        for event in events:
            clinic_id, note = event.clinicid, event.data
            if self._erasures.drop(clinic_id, note.client_id):
                continue
            if clinic_id not in routings:
                routings[clinic_id] = await self._routing.get(clinic_id)
            planned = plan_client_page(clinic_id, note, routings[clinic_id], now)
            if planned is None:
                continue
            page, url = self._pages.issue(clinic_id, note.client_id, planned.days)
            links.append(
                ClientPageDelivery(
                    delivery_id=planned.delivery_id,
                    clinic_id=clinic_id,
                    client_id=note.client_id,
                    note_id=note.note_id,
                    session_id=note.session_id,
                    webhook_url=planned.webhook_url,
                    page_url=url,
                    expires_at=page.expires_at,
                    attempts=0,
                    event_id=event.id,
                    trace=tracing.carrier_of(event.id),
                )
            )
        new = await self._deliveries.record_client_pages(links, now)
        for clinic_id, client_id in {(link.clinic_id, link.client_id) for link in links}:
            await self._erasures.settle(clinic_id, client_id)  # erased while this was being recorded
        if new:
            log.info("client page links recorded", extra={"links": new, "notes": len(events)})
            self._wake_worker()
        return new


def register(
    broker: KafkaBroker,
    intake: AlertIntake,
    acknowledgements: Acknowledgements,
    client_pages: ClientPageIntake,
    group_id: str,
    instance_id: str | None = None,
) -> None:
    @subscribe(broker, RUPTURE_SUSPECTED, group_id, instance_id)
    async def on_rupture_suspected(event: CloudEvent[RuptureSuspectedV4]) -> None:
        await intake.take(event)

    @subscribe(broker, RUPTURE_ACKNOWLEDGED, group_id, instance_id)
    async def on_rupture_acknowledged(event: CloudEvent[RuptureAcknowledgedV2]) -> None:
        await acknowledgements.acknowledged_elsewhere(event)

    @subscribe_note_shared(broker, client_pages_group(group_id), instance_id)
    async def on_note_shared(events: Sequence[CloudEvent[NoteSharedV2]]) -> dict[int, ContractViolation]:
        await client_pages.take(events)
        # A decoded note is never refused: a clinic without links simply owes none, an erased client is dropped.
        return {}
