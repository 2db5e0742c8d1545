"""MongoDB persistence of each client's alliance state (collection ``scoring_clients``, one document a client).

A document keeps what the state is derived from (the inbound fact events and the clinicians' actions, whose
event ids double as the set of applied event ids), what has been announced about its episodes (the
``EmittedLog``), and the full read-model projection (``alliance``) plus a few top-level fields the queries
filter on. Timestamps inside actions are ISO strings, so they survive a round trip with microseconds intact.

A record keeps, next to each decoded event, the stored document it came from and the domain fact it reads as,
so neither is recomputed while the record lives (a batch applies many events to one loaded record).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from services.scoring import domain
from services.scoring.clinic_figures import ActiveClient
from services.scoring.projection import alliance_view, goal_views, note_views
from services.scoring.translate import fact_from
from services.scoring.views import ClientAlliance
from shared.contracts import ALL_KINDS, CloudEvent, EventKind
from shared.messaging.subscription import decode_event
from shared.repair import RepairStrategy, RuptureType

Document = dict[str, Any]
KINDS_BY_TYPE: dict[str, EventKind[Any]] = {
    kind.type_name(version): kind for kind in ALL_KINDS for version in range(1, kind.latest_version + 1)
}


@dataclass
class ClientRecord:
    clinic_id: str
    client_id: str
    events: dict[str, CloudEvent[Any]] = field(default_factory=dict)  # inbound facts, by event id
    resolutions: dict[str, domain.ManualResolution] = field(default_factory=dict)  # by event id
    acknowledgements: dict[str, domain.Acknowledgement] = field(default_factory=dict)  # by event id
    emitted: domain.EmittedLog = field(default_factory=domain.EmittedLog)
    # The rules its announcements were made under; None for a document from before version 2.1: its next
    # change first adopts what the current rules imply about the past.
    rules: str | None = domain.RULES_VERSION
    # Caches by event id, valid while the cached event is the very object in ``events``.
    _stored: dict[str, tuple[CloudEvent[Any], Document]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _facts: dict[str, tuple[CloudEvent[Any], domain.Fact]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _history: domain.ClientHistory | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        return record_key(self.clinic_id, self.client_id)

    def has_applied(self, event_id: str) -> bool:
        return event_id in self.events or event_id in self.resolutions or event_id in self.acknowledgements

    @property
    def actions(self) -> domain.ClinicianActions:
        return domain.ClinicianActions(
            frozenset(self.resolutions.values()), frozenset(self.acknowledgements.values())
        )

    def add_event(self, event: CloudEvent[Any], fact: domain.Fact) -> None:
        """Record an inbound fact event with the fact the domain reads it as (``fact_from(event)``)."""
        self.events[event.id] = event
        self._facts[event.id] = (event, fact)

    def history(self) -> domain.ClientHistory:
        """The history of ``events``. A batch adds events one by one: the last history is extended by the new
        facts (its sessions carried over) rather than rebuilt; after a removal it is rebuilt."""
        history = self._history
        if history is None or not history.event_ids <= self.events.keys():
            facts = (self._fact(event_id, event) for event_id, event in self.events.items())
            history = domain.ClientHistory.of(self.clinic_id, self.client_id, facts)
        else:
            for event_id in sorted(self.events.keys() - history.event_ids):
                history = history.with_fact(self._fact(event_id, self.events[event_id]))
        self._history = history
        return history

    def _fact(self, event_id: str, event: CloudEvent[Any]) -> domain.Fact:
        cached = self._facts.get(event_id)
        if cached is not None and cached[0] is event:
            return cached[1]
        fact = fact_from(event)
        self._facts[event_id] = (event, fact)
        return fact

    def stored_event(self, event_id: str) -> Document:
        """The event as stored: the document it was loaded from, else its JSON form."""
        event = self.events[event_id]
        cached = self._stored.get(event_id)
        if cached is not None and cached[0] is event:
            return cached[1]
        document = event.model_dump(mode="json")
        self._stored[event_id] = (event, document)
        return document


def record_key(clinic_id: str, client_id: str) -> str:
    return f"{clinic_id}:{client_id}"


class ClientStore:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        c = self.collection
        await c.create_index([("clinic_id", ASCENDING), ("client_id", ASCENDING)], unique=True)
        await c.create_index(
            [("clinic_id", ASCENDING), ("therapist_id", ASCENDING), ("client_id", ASCENDING)]
        )
        await c.create_index([("clinic_id", ASCENDING), ("episode_ids", ASCENDING)])  # resolve, acknowledge
        await c.create_index([("clinic_id", ASCENDING), ("last_session_at", ASCENDING)])  # clinic summary

    async def load(
        self, clinic_id: str, client_id: str, session: AsyncClientSession | None = None
    ) -> ClientRecord:
        return (await self.load_many([(clinic_id, client_id)], session))[(clinic_id, client_id)]

    async def load_many(
        self, keys: Sequence[tuple[str, str]], session: AsyncClientSession | None = None
    ) -> dict[tuple[str, str], ClientRecord]:
        """The records of (clinic, client) ``keys`` in one query; a new, empty record for an unknown client."""
        wanted = {record_key(*key): key for key in keys}
        records = {key: ClientRecord(*key) for key in keys}
        async for document in self.collection.find({"_id": {"$in": list(wanted)}}, session=session):
            key = wanted[document["_id"]]
            records[key] = _record_from(key, document)
        return records

    async def save(
        self,
        record: ClientRecord,
        assessment: domain.ClientAssessment,
        session: AsyncClientSession | None = None,
    ) -> None:
        await self.collection.bulk_write([_save(record, assessment)], session=session)

    async def save_many(
        self,
        changes: Sequence[tuple[ClientRecord, domain.ClientAssessment]],
        session: AsyncClientSession | None = None,
    ) -> None:
        """Save each record with the read model of its assessment, in one round trip."""
        if changes:
            await self.collection.bulk_write(
                [_save(record, assessment) for record, assessment in changes],
                ordered=False,
                session=session,
            )

    async def alliance(self, clinic_id: str, client_id: str) -> ClientAlliance | None:
        document = await self.collection.find_one(
            {"_id": record_key(clinic_id, client_id), "clinic_id": clinic_id}, {"alliance": 1}
        )
        return ClientAlliance.model_validate(document["alliance"]) if document else None

    async def open_episodes_by_clinic(self) -> dict[str, int]:
        """How many clients of each clinic have an open rupture episode now."""
        cursor = await self.collection.aggregate(
            [
                {"$match": {"alliance.open_episode": {"$ne": None}}},
                {"$group": {"_id": "$clinic_id", "open": {"$sum": 1}}},
            ]
        )
        return {row["_id"]: row["open"] async for row in cursor}

    async def client_of_rupture(
        self, clinic_id: str, rupture_id: str, session: AsyncClientSession | None = None
    ) -> str | None:
        document = await self.collection.find_one(
            {"clinic_id": clinic_id, "episode_ids": rupture_id}, {"client_id": 1}, session=session
        )
        return document["client_id"] if document else None

    async def caseload(self, clinic_id: str, therapist_id: str) -> list[ClientAlliance]:
        cursor = self.collection.find(
            {"clinic_id": clinic_id, "therapist_id": therapist_id},
            {
                "alliance.client_id": 1,
                "alliance.therapist_id": 1,
                "alliance.summary": 1,
                "alliance.open_episode": 1,
            },
        ).sort("client_id", ASCENDING)
        return [_partial_alliance(document["alliance"]) async for document in cursor]

    async def active(self, clinic_id: str, since: datetime) -> list[ActiveClient]:
        """The clinic's clients whose latest session is at or after ``since``: what the clinic figures read
        (episodes, and the time and therapist of each session that counts), never the rest of a history."""
        cursor = self.collection.find(
            {"clinic_id": clinic_id, "last_session_at": {"$gte": since}},
            {
                "_id": 0,
                "alliance.client_id": 1,
                "alliance.therapist_id": 1,
                "alliance.summary": 1,
                "alliance.open_episode": 1,
                "alliance.past_episodes": 1,
                "alliance.sessions.occurred_at": 1,
                "alliance.sessions.therapist_id": 1,
                "alliance.sessions.counts": 1,
            },
        )
        found = []
        async for document in cursor:
            alliance = document["alliance"]
            sessions = alliance.pop("sessions", [])
            counted = tuple((s["occurred_at"], s["therapist_id"]) for s in sessions if s.get("counts", True))
            found.append(ActiveClient(_partial_alliance(alliance), counted))
        return found


def _record_from(key: tuple[str, str], document: Document) -> ClientRecord:
    record = ClientRecord(
        *key,
        resolutions={r["event_id"]: _resolution_from(r) for r in document["resolutions"]},
        acknowledgements={a["event_id"]: _acknowledgement_from(a) for a in document["acknowledgements"]},
        emitted=_emitted_from(document["emitted"]),
        rules=document.get("rules"),
    )
    for stored in document["events"]:
        event = _stored_event(stored)
        record.events[event.id] = event
        if event.type == stored["type"]:  # an upcast event is stored in its new form at the next save
            record._stored[event.id] = (event, stored)
    return record


def _stored_event(stored: Document) -> CloudEvent[Any]:
    return decode_event(KINDS_BY_TYPE[stored["type"]], stored)


def _save(record: ClientRecord, assessment: domain.ClientAssessment) -> UpdateOne:
    """Replace the document through an update pipeline, not a replacement: MongoDB then logs only what changed
    (a delta of a few hundred bytes) in its oplog instead of the whole document (kilobytes, growing with the
    client's history), and every secondary of a replica set applies that much less. The events keep the order
    they were added in, so a new one is an append to the array, not a shift of every entry after it."""
    document = {"_id": record.key, **_document_of(record, assessment)}
    return UpdateOne({"_id": record.key}, [{"$replaceWith": {"$literal": document}}], upsert=True)


def _document_of(record: ClientRecord, assessment: domain.ClientAssessment) -> Document:
    alliance = alliance_view(assessment, record.emitted).model_copy(  # its alerts, which are from history
        update={
            "notes": note_views(record.events.values()),
            "goals": goal_views(assessment, record.events.values()),
        }
    )
    return {
        "clinic_id": record.clinic_id,
        "client_id": record.client_id,
        "therapist_id": alliance.therapist_id,
        "last_session_at": alliance.summary.latest_session_at,
        "episode_ids": [episode.episode_id for episode in assessment.timeline.episodes],
        "events": [record.stored_event(i) for i in record.events],
        "resolutions": [_resolution_to(i, record.resolutions[i]) for i in sorted(record.resolutions)],
        "acknowledgements": [
            _acknowledgement_to(i, record.acknowledgements[i]) for i in sorted(record.acknowledgements)
        ],
        "emitted": _emitted_to(record.emitted),
        "rules": record.rules,
        "alliance": alliance.model_dump(),
        "updated_at": datetime.now(UTC),
    }


def _partial_alliance(document: Document) -> ClientAlliance:
    return ClientAlliance.model_validate(
        {"past_episodes": [], "sessions": [], "therapist_id": None, **document}
    )


def _resolution_to(event_id: str, r: domain.ManualResolution) -> Document:
    return {
        "event_id": event_id,
        "episode_id": r.episode_id,
        "resolved_by": r.resolved_by,
        "resolved_at": _iso(r.resolved_at),
        "note": r.note,
        **_tags_to(r.tags),
    }


def _resolution_from(d: Document) -> domain.ManualResolution:
    return domain.ManualResolution(
        d["episode_id"], d["resolved_by"], datetime.fromisoformat(d["resolved_at"]), d["note"], _tags_from(d)
    )


def _acknowledgement_to(event_id: str, a: domain.Acknowledgement) -> Document:
    return {
        "event_id": event_id,
        "episode_id": a.episode_id,
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": _iso(a.acknowledged_at),
        **_tags_to(a.tags),
    }


def _acknowledgement_from(d: Document) -> domain.Acknowledgement:
    return domain.Acknowledgement(
        d["episode_id"], d["acknowledged_by"], datetime.fromisoformat(d["acknowledged_at"]), _tags_from(d)
    )


def _tags_to(tags: domain.RepairTags) -> Document:
    return {"rupture_type": tags.rupture_type, "strategies": list(tags.strategies)}


def _tags_from(d: Document) -> domain.RepairTags:
    """Records stored before the tags existed have none."""
    kind = d.get("rupture_type")
    return domain.RepairTags(
        RuptureType(kind) if kind else None, tuple(RepairStrategy(s) for s in d.get("strategies", ()))
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _emitted_to(log: domain.EmittedLog) -> Document:
    return {
        "alerted": sorted([episode_id, level.value] for episode_id, level in log.alerted),
        "stale_alerted": sorted(log.stale_alerted),
        "resolved": sorted(log.resolved),
        "from_history": sorted(log.from_history),
    }


def _emitted_from(document: Document) -> domain.EmittedLog:
    return domain.EmittedLog(
        alerted=frozenset((episode_id, domain.Severity(level)) for episode_id, level in document["alerted"]),
        stale_alerted=frozenset(document["stale_alerted"]),
        resolved=frozenset(document["resolved"]),
        from_history=frozenset(document.get("from_history", ())),  # absent from documents before it existed
    )
