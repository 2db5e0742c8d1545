"""Applying one inbound event: the unit of work of the scoring service.

In one MongoDB transaction: skip the event if this client already applied it; otherwise add its fact,
re-assess the client, stage every event the assessment now owes in the outbox, and save. The outbox relay
publishes after the commit.
"""

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.scoring import domain
from services.scoring.clients import ClientRecord, ClientStore
from services.scoring.translate import fact_from, outbound
from shared import mongo
from shared.contracts import CloudEvent
from shared.messaging import Outbox, OutboxRelay


class ScoringService:
    def __init__(
        self,
        client: AsyncMongoClient[mongo.Document],
        clients: ClientStore,
        outbox: Outbox,
        relay: OutboxRelay,
    ) -> None:
        self._client = client
        self._clients = clients
        self._outbox = outbox
        self._relay = relay

    async def apply(self, event: CloudEvent[Any]) -> bool:
        """Apply ``event`` once; returns False when it had already been applied."""
        fact = fact_from(event)

        async def work(session: AsyncClientSession) -> bool:
            record = await self._clients.load(fact.clinic_id, fact.client_id, session)
            if record.has_applied(event.id):
                return False
            record.events.append(event)
            assessment = assess(record)
            owed = assessment.owed_events(record.emitted)
            therapist_id = fact.therapist_id
            await self._outbox.stage(session, [outbound(e, assessment.timeline, therapist_id) for e in owed])
            record.emitted = record.emitted.record(owed)
            await self._clients.save(record, assessment, session)
            return True

        applied = await mongo.in_transaction(self._client, work)
        if applied:
            self._relay.wake()
        return applied


def assess(record: ClientRecord) -> domain.ClientAssessment:
    history = domain.ClientHistory(
        record.clinic_id, record.client_id, frozenset(fact_from(event) for event in record.events)
    )
    return domain.assess_client(history, domain.Thresholds())
