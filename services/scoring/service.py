"""The units of work of the scoring service: apply a batch of facts and acknowledgements, resolve by hand.

Each runs in one MongoDB transaction (a batch: one for all its events, each applied as if alone): skip what this client already applied (by event id); otherwise change
the record, re-assess the client with its clinic's thresholds, stage every event the assessment now owes
(plus ``alliance.updated``) in the outbox, and save the record with its read model. The relay publishes
after the commit.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.scoring import domain, metrics
from services.scoring.clients import KINDS_BY_TYPE, ClientRecord, ClientStore
from services.scoring.clinic_settings import ClinicSettingsStore
from services.scoring.translate import Outbound, acknowledgement_from, alliance_updated, fact_from, outbound
from shared import mongo, tracing
from shared.contracts import CloudEvent, ContractViolation, RuptureAcknowledgedV2
from shared.messaging import Outbox, OutboxRelay
from shared.privacy.erasure import ERASED_EVENTS_DROPPED
from shared.privacy.plumbing import Privacy

T = TypeVar("T")
Inbound = domain.Fact | domain.Acknowledgement


@dataclass(frozen=True)
class Committed:
    """What a transaction changed that the metrics count, once it has committed."""

    staged: list[Outbound]
    acknowledged_in: list[str]  # the clinic of each acknowledgement applied
    saved: list[ClientRecord]  # as they now stand in the database, for the store to go on from


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
        privacy: Privacy,
    ) -> None:
        self._privacy = privacy
        self._client = client
        self._clients = clients
        self._settings = settings
        self._outbox = outbox
        self._relay = relay

    async def apply_batch(self, events: Sequence[CloudEvent[Any]]) -> dict[int, ContractViolation]:
        """Apply session, feedback and acknowledgement events, in the given order, in ONE transaction.

        Each event is applied to its client's record as if it came alone (duplicates skipped by event id,
        the client re-assessed, the events it owes staged with an ``alliance.updated``), so the outbox holds
        exactly what one transaction per event would have staged; every touched client is loaded with one
        query and saved with one bulk write. Returns the positions of the events refused (the domain refuses
        them, or their id was applied with other content): none of their effect is kept.
        """
        refused: dict[int, ContractViolation] = {}
        by_client: dict[tuple[str, str], list[tuple[int, CloudEvent[Any], Inbound]]] = {}
        for position, event in enumerate(events):
            if self._privacy.erased.contains(event.clinicid, event.data.client_id):
                ERASED_EVENTS_DROPPED.labels("scoring").inc()  # arrived after the client was erased
                continue
            event = await self._privacy.words.seal_event(KINDS_BY_TYPE[event.type], event)
            try:
                inbound = _inbound(event)  # refuse what the domain refuses before touching anything
            except ContractViolation as violation:
                refused[position] = violation
                continue
            by_client.setdefault((event.clinicid, event.data.client_id), []).append(
                (position, event, inbound)
            )
        if not by_client:
            return refused

        async def work(session: AsyncClientSession) -> tuple[dict[int, ContractViolation], Committed]:
            records = await self._clients.load_many(list(by_client), session)
            thresholds = await self._settings.thresholds_of({clinic for clinic, _ in by_client}, session)
            refusals: dict[int, ContractViolation] = {}
            staged: list[Outbound] = []
            traces: dict[str, tracing.Carrier | None] = {}  # each staged event goes on its cause's trace
            acknowledged: list[str] = []
            changed: list[tuple[ClientRecord, domain.ClientAssessment]] = []
            for key, items in by_client.items():
                record, latest = records[key], None
                for position, event, inbound in items:
                    try:
                        change = _apply(record, event, inbound, thresholds[key[0]], latest or record.assessed)
                    except ContractViolation as violation:
                        refusals[position] = violation
                        continue
                    if change is not None:
                        latest, owed = change
                        staged += owed
                        if tracing.is_on():
                            traces.update(
                                dict.fromkeys((e.id for _, e in owed), tracing.carrier_of(event.id))
                            )
                        if isinstance(inbound, domain.Acknowledgement):
                            acknowledged.append(key[0])
                if latest is not None:
                    changed.append((record, latest))
            await self._outbox.stage(session, staged, traces)
            await self._clients.save_many(changed, session)
            return refusals, Committed(staged, acknowledged, [record for record, _ in changed])

        return {**refused, **await self._run(work)}

    async def resolve_by_hand(
        self,
        clinic_id: str,
        rupture_id: str,
        resolved_by: str,
        note: str,
        tags: domain.RepairTags = domain.UNTAGGED,
    ) -> ManualOutcome:
        """Close the clinic's open episode ``rupture_id``; its ``rupture.resolved`` (how=manual) is staged in the
        same transaction, whether or not the episode had alerted, because replay re-creates the action from it."""
        resolved_at = datetime.now(UTC)

        async def work(session: AsyncClientSession) -> tuple[ManualOutcome, Committed]:
            client_id = await self._clients.client_of_rupture(clinic_id, rupture_id, session)
            if client_id is None:
                raise UnknownRupture(rupture_id)
            record = await self._clients.load(clinic_id, client_id, session)
            thresholds = await self._settings.thresholds(clinic_id, session)
            if record.rules != domain.rules_version(thresholds):
                _adopt(record, thresholds)
            episode = assess(record, thresholds, record.assessed).timeline.episode(rupture_id)
            if episode is None:
                raise UnknownRupture(rupture_id)
            if not episode.is_open:
                raise AlreadyResolved(rupture_id)
            event_id = domain.resolution_event_id(rupture_id)
            sealed = await self._privacy.words.seal(clinic_id, client_id, event_id, note)
            record.resolutions[event_id] = domain.ManualResolution(
                rupture_id, resolved_by, resolved_at, sealed or note, tags
            )
            staged = await self._commit(record, session, caused_by=event_id, announce=event_id)
            return ManualOutcome(client_id, resolved_at, event_id), Committed(staged, [], [record])

        return await self._run(work)

    async def _commit(
        self,
        record: ClientRecord,
        session: AsyncClientSession,
        caused_by: str | None,
        announce: str | None = None,
    ) -> list[Outbound]:
        thresholds = await self._settings.thresholds(record.clinic_id, session)
        assessment, staged = _consequences(record, thresholds, caused_by, announce)
        await self._outbox.stage(session, staged)
        await self._clients.save(record, assessment, session)
        return staged

    async def _run(self, work: Callable[[AsyncClientSession], Awaitable[tuple[T, Committed]]]) -> T:
        result, committed = await mongo.in_transaction(self._client, work)
        self._clients.remember(committed.saved)
        self._relay.wake()
        metrics.count_committed(committed.staged, committed.acknowledged_in)  # once: after the commit
        return result


def assess(
    record: ClientRecord,
    thresholds: domain.Thresholds,
    previous: domain.ClientAssessment | None = None,
) -> domain.ClientAssessment:
    """``previous``: the record's last assessment, if any, whose unchanged sessions need no marking again."""
    try:
        return domain.assess_client(record.history(), thresholds, record.actions, previous=previous)
    except domain.ConflictingFact as conflict:
        raise ContractViolation(f"refused by the domain: {conflict}") from conflict


def _consequences(
    record: ClientRecord,
    thresholds: domain.Thresholds,
    caused_by: str | None,
    announce: str | None = None,
    previous: domain.ClientAssessment | None = None,
    occurred_at: datetime | None = None,
) -> tuple[domain.ClientAssessment, list[Outbound]]:
    """Re-assess the changed ``record``; the events it now owes (plus ``alliance.updated`` when an inbound
    event ``caused_by`` the change) are returned to be staged, and recorded in its ``EmittedLog``.
    ``occurred_at`` is when the causing event reached the platform: the time of the events it raises, and
    the moment against which the clinic's push horizon tells an alert about history from news."""
    assessment = assess(record, thresholds, previous)
    announced = assessment.announce(record.emitted, occurred_at or datetime.now(UTC))
    owed, log = list(announced.events), announced.log
    if announce is not None and all(event.event_id != announce for event in owed):
        manual = next((e for e in assessment.timeline.events if e.event_id == announce), None)
        if manual is None:  # a session before the resolution's time already closed the episode
            raise AlreadyResolved(announce)
        owed.append(manual)
        log = log.record([manual])
    staged: list[Outbound] = [
        outbound(event, assessment, occurred_at, from_history=event.event_id in announced.from_history)
        for event in owed
    ]
    summary = alliance_updated(assessment, caused_by) if caused_by else None
    record.emitted = log
    return assessment, staged + ([summary] if summary else [])


def _inbound(event: CloudEvent[Any]) -> Inbound:
    """What the domain reads an inbound event as: a session or feedback fact, or an acknowledgement."""
    if isinstance(event.data, RuptureAcknowledgedV2):
        try:
            return acknowledgement_from(event)
        except domain.DomainError as error:
            raise ContractViolation(f"refused by the domain: {error}") from error
    return fact_from(event)


def _apply(
    record: ClientRecord,
    event: CloudEvent[Any],
    inbound: Inbound,
    thresholds: domain.Thresholds,
    previous: domain.ClientAssessment | None,
) -> tuple[domain.ClientAssessment, list[Outbound]] | None:
    """Apply one inbound event to ``record`` in memory: None if it was already applied; else the new
    assessment and what to stage. A refused event (ContractViolation) leaves the record as it was."""
    if record.rules != domain.rules_version(thresholds) and not record.has_applied(event.id):
        _adopt(record, thresholds)
    if isinstance(inbound, domain.Acknowledgement):
        if record.has_applied(event.id):
            return None
        record.acknowledgements[event.id] = inbound
        caused_by = None
    else:
        if _seen(record.events.get(event.id), event):
            return None
        record.add_event(event, inbound)
        caused_by = event.id
    try:
        return _consequences(record, thresholds, caused_by, previous=previous, occurred_at=event.time)
    except ContractViolation:
        if caused_by is None:
            del record.acknowledgements[event.id]
        else:
            record.remove_event(event.id)
        raise


def _adopt(record: ClientRecord, thresholds: domain.Thresholds) -> None:
    """Take over a history announced under other rules (a new ``RULES_VERSION``, or newly fitted trajectories):
    what the current rules imply about it counts as announced (``domain.adopted``), so only what the new event
    changes is announced."""
    if record.events:
        timeline = assess(record, thresholds).timeline
        record.emitted = domain.adopted(timeline, record.emitted)
    record.rules = domain.rules_version(thresholds)


def _seen(stored: CloudEvent[Any] | None, event: CloudEvent[Any]) -> bool:
    if stored is None:
        return False
    if stored != event:  # ids are unique upstream: the same id with other content is a bug to surface
        raise ContractViolation(f"event {event.id} was already applied with other content")
    return True
