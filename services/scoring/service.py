"""The units of work of the scoring service: apply a fact, record an acknowledgement, resolve by hand.

Each runs in one MongoDB transaction: skip what this client already applied (by event id); otherwise change
the record, re-assess the client with its clinic's thresholds, stage every event the assessment now owes
(plus ``alliance.updated``) in the outbox, and save the record with its read model. The relay publishes
after the commit.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.scoring import domain
from services.scoring.clients import ClientRecord, ClientStore
from services.scoring.clinic_settings import ClinicSettingsStore
from services.scoring.translate import Outbound, acknowledgement_from, alliance_updated, fact_from, outbound
from shared import mongo
from shared.contracts import CloudEvent, ContractViolation, RuptureAcknowledgedV1
from shared.messaging import Outbox, OutboxRelay

T = TypeVar("T")


class UnknownRupture(LookupError):
    """No episode with this id among the clinic's clients."""


class AlreadyResolved(Exception):
    """The episode is not open (any more)."""


@dataclass(frozen=True)
class ManualOutcome:
    client_id: str
    resolved_at: datetime
    event_id: str


class ScoringService:
    def __init__(
        self,
        client: AsyncMongoClient[mongo.Document],
        clients: ClientStore,
        settings: ClinicSettingsStore,
        outbox: Outbox,
        relay: OutboxRelay,
    ) -> None:
        self._client = client
        self._clients = clients
        self._settings = settings
        self._outbox = outbox
        self._relay = relay

    async def apply(self, event: CloudEvent[Any]) -> bool:
        """Apply a session or feedback event once; False when it had already been applied."""
        fact_from(event)  # refuse what the domain refuses before touching anything

        async def work(session: AsyncClientSession) -> bool:
            record = await self._clients.load(event.clinicid, event.data.client_id, session)
            if _seen(record.events.get(event.id), event):
                return False
            record.events[event.id] = event
            await self._commit(record, session, caused_by=event.id)
            return True

        return await self._run(work)

    async def acknowledge(self, event: CloudEvent[RuptureAcknowledgedV1]) -> bool:
        """Record that an episode's alert was seen; False when this acknowledgement was already recorded."""
        acknowledgement = acknowledgement_from(event)

        async def work(session: AsyncClientSession) -> bool:
            record = await self._clients.load(event.clinicid, event.data.client_id, session)
            if record.has_applied(event.id):
                return False
            record.acknowledgements[event.id] = acknowledgement
            await self._commit(record, session, caused_by=None)
            return True

        return await self._run(work)

    async def resolve_by_hand(
        self, clinic_id: str, rupture_id: str, resolved_by: str, note: str
    ) -> ManualOutcome:
        """Close the clinic's open episode ``rupture_id``; its ``rupture.resolved`` (how=manual) is staged in the
        same transaction, whether or not the episode had alerted, because replay re-creates the action from it."""
        resolved_at = datetime.now(UTC)

        async def work(session: AsyncClientSession) -> ManualOutcome:
            client_id = await self._clients.client_of_rupture(clinic_id, rupture_id, session)
            if client_id is None:
                raise UnknownRupture(rupture_id)
            record = await self._clients.load(clinic_id, client_id, session)
            episode = assess(record, await self._settings.thresholds(clinic_id, session)).timeline.episode(
                rupture_id
            )
            if episode is None:
                raise UnknownRupture(rupture_id)
            if not episode.is_open:
                raise AlreadyResolved(rupture_id)
            event_id = domain.resolution_event_id(rupture_id)
            record.resolutions[event_id] = domain.ManualResolution(rupture_id, resolved_by, resolved_at, note)
            await self._commit(record, session, caused_by=event_id, announce=event_id)
            return ManualOutcome(client_id, resolved_at, event_id)

        return await self._run(work)

    async def _commit(
        self,
        record: ClientRecord,
        session: AsyncClientSession,
        caused_by: str | None,
        announce: str | None = None,
    ) -> None:
        assessment = assess(record, await self._settings.thresholds(record.clinic_id, session))
        owed = list(assessment.owed_events(record.emitted))
        if announce is not None and all(event.event_id != announce for event in owed):
            manual = next((e for e in assessment.timeline.events if e.event_id == announce), None)
            if manual is None:  # a session before the resolution's time already closed the episode
                raise AlreadyResolved(announce)
            owed.append(manual)
        staged: list[Outbound] = [outbound(event, assessment) for event in owed]
        summary = alliance_updated(assessment, caused_by) if caused_by else None
        await self._outbox.stage(session, staged + ([summary] if summary else []))
        record.emitted = record.emitted.record(owed)
        await self._clients.save(record, assessment, session)

    async def _run(self, work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        result = await mongo.in_transaction(self._client, work)
        self._relay.wake()
        return result


def assess(record: ClientRecord, thresholds: domain.Thresholds) -> domain.ClientAssessment:
    try:
        return domain.assess_client(record.history(), thresholds, record.actions)
    except domain.ConflictingFact as conflict:
        raise ContractViolation(f"refused by the domain: {conflict}") from conflict


def _seen(stored: CloudEvent[Any] | None, event: CloudEvent[Any]) -> bool:
    if stored is None:
        return False
    if stored != event:  # ids are unique upstream: the same id with other content is a bug to surface
        raise ContractViolation(f"event {event.id} was already applied with other content")
    return True
