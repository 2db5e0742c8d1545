"""MongoDB persistence of each client's alliance state (collection ``scoring_clients``, one document a client).

A document keeps what the state is derived from (the inbound fact events and the clinicians' actions, whose
event ids double as the set of applied event ids), what has been announced about its episodes (the
``EmittedLog``), and the full read-model projection (``alliance``) plus a few top-level fields the queries
filter on. Timestamps inside actions are ISO strings, so they survive a round trip with microseconds intact.

A record keeps, next to each decoded event, the stored document it came from and the domain fact it reads as,
so neither is recomputed while the record lives (a batch applies many events to one loaded record).

The store also keeps, per client, the record as this process last committed it, with its history and
assessment: a client's next batch then goes on from there instead of decoding, re-deriving and re-judging its
whole history, so an event costs the same however long the history. Several replicas may write one client (a
rebalance moves it), so a kept record is used only while the stored document holds exactly its events, in
their order (they are read back by id); anything else is loaded and derived again from the document.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from services.scoring import clinic_contributions, clinic_figures, domain
from services.scoring.clinic_figures import ActiveClient, ClinicFigures
from services.scoring.projection import alliance_view, goal_views, note_views, session_view
from services.scoring.translate import fact_from
from services.scoring.views import ClientAlliance, SessionView
from shared.contracts import (
    ALL_KINDS,
    GOALS_AGREED,
    NOTE_ANSWERED,
    NOTE_SHARED,
    STORED,
    CloudEvent,
    EventKind,
)
from shared.messaging.subscription import decode_event
from shared.repair import RepairStrategy, RuptureType

Document = dict[str, Any]
KINDS_BY_TYPE: dict[str, EventKind[Any]] = {
    kind.type_name(version): kind for kind in ALL_KINDS for version in range(1, kind.latest_version + 1)
}


class StoredEvents(MutableMapping[str, CloudEvent[Any]]):
    """A record's inbound events by id, in the order they were added. Each is held as the event, as the
    document it is stored as, or both, with the fact the domain reads it as: the event is decoded from its
    document only when asked for, so a record kept between batches holds documents and facts, not both forms
    of every event. Setting an event (re)places all three."""

    def __init__(self) -> None:
        self._events: dict[str, CloudEvent[Any] | None] = {}
        self._documents: dict[str, Document] = {}
        self._facts: dict[str, domain.Fact] = {}

    def __getitem__(self, event_id: str) -> CloudEvent[Any]:
        event = self._events[event_id]
        return event if event is not None else _stored_event(self._documents[event_id])

    def __setitem__(self, event_id: str, event: CloudEvent[Any]) -> None:
        self._events[event_id] = event
        self._documents.pop(event_id, None)
        self._facts.pop(event_id, None)

    def __delitem__(self, event_id: str) -> None:
        del self._events[event_id]
        self._documents.pop(event_id, None)
        self._facts.pop(event_id, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._events

    def add(
        self, event: CloudEvent[Any], fact: domain.Fact | None = None, document: Document | None = None
    ) -> None:
        """``event`` with the fact it reads as and the document it is stored as, when known."""
        self[event.id] = event
        if fact is not None:
            self._facts[event.id] = fact
        if document is not None:
            self._documents[event.id] = document

    def fact(self, event_id: str) -> domain.Fact:
        fact = self._facts.get(event_id)
        if fact is None:
            fact = self._facts[event_id] = fact_from(self[event_id])
        return fact

    def document(self, event_id: str) -> Document:
        """The event as stored: the document it was loaded from, else its JSON form."""
        document = self._documents.get(event_id)
        if document is None:
            document = self._documents[event_id] = self[event_id].model_dump(mode="json")
        return document

    def of_kinds(self, kinds: Collection[EventKind[Any]]) -> Iterator[CloudEvent[Any]]:
        """The events of ``kinds``, in order; only those are decoded."""
        names = {kind.name for kind in kinds}
        for event_id, event in self._events.items():
            type_name = event.type if event is not None else self._documents[event_id]["type"]
            if KINDS_BY_TYPE[type_name].name in names:
                yield self[event_id]

    def copy(self) -> "StoredEvents":
        copied = StoredEvents()
        copied._events, copied._documents, copied._facts = (
            dict(self._events),
            dict(self._documents),
            dict(self._facts),
        )
        return copied

    def slimmed(self, keep: Collection[EventKind[Any]]) -> None:
        """Let go of the decoded events whose document is known, but those of ``keep``."""
        names = {kind.name for kind in keep}
        for event_id, event in self._events.items():
            if (
                event is not None
                and event_id in self._documents
                and KINDS_BY_TYPE[event.type].name not in names
            ):
                self._events[event_id] = None


# The events whose words the read model shows (``note_views``, ``goal_views``): decoded at every save.
WORDED_KINDS = (NOTE_SHARED, NOTE_ANSWERED, GOALS_AGREED)


@dataclass
class ClientRecord:
    clinic_id: str
    client_id: str
    events: StoredEvents = field(default_factory=StoredEvents)  # inbound facts, by event id
    resolutions: dict[str, domain.ManualResolution] = field(default_factory=dict)  # by event id
    acknowledgements: dict[str, domain.Acknowledgement] = field(default_factory=dict)  # by event id
    emitted: domain.EmittedLog = field(default_factory=domain.EmittedLog)
    # The rules its announcements were made under; None for a document from before version 2.1: its next
    # change first adopts what the current rules imply about the past.
    rules: str | None = domain.RULES_VERSION
    _history: domain.ClientHistory | None = field(default=None, repr=False, compare=False)
    _added: list[str] = field(default_factory=list, repr=False, compare=False)  # since ``_history``
    # The assessment it was last saved with: where the next assessment goes on from.
    assessed: domain.ClientAssessment | None = field(default=None, repr=False, compare=False)
    # The read model of each marked session, by the identity of the marked session (unchanged sessions are
    # the same objects from one assessment to the next).
    _views: dict[int, tuple[domain.MarkedSession, SessionView]] = field(
        default_factory=dict, repr=False, compare=False
    )

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
        if event.id in self.events:  # another form of a known event: its history is derived again
            self._history = None
        else:
            self._added.append(event.id)
        self.events.add(event, fact)

    def remove_event(self, event_id: str) -> None:
        del self.events[event_id]
        self._history = None

    def history(self) -> domain.ClientHistory:
        """The history of ``events``. A batch adds events one by one: the last history is extended by the new
        facts (its sessions carried over) rather than rebuilt; after a removal, or events set from outside
        ``add_event``, it is rebuilt."""
        history = self._history
        if history is None or len(history.facts) + len(self._added) != len(self.events):
            facts = (self.events.fact(event_id) for event_id in self.events)
            history = domain.ClientHistory.of(self.clinic_id, self.client_id, facts)
        else:
            for event_id in self._added:
                history = history.with_fact(self.events.fact(event_id))
        self._history, self._added = history, []
        return history

    def stored_event(self, event_id: str) -> Document:
        """The event as stored: the document it was loaded from, else its JSON form."""
        return self.events.document(event_id)

    def session_view(self, marked: domain.MarkedSession) -> SessionView:
        known = self._views.get(id(marked))
        if known is not None and known[0] is marked:
            return known[1]
        view = session_view(marked)
        self._views[id(marked)] = (marked, view)
        return view

    def saved_with(self, assessment: domain.ClientAssessment) -> None:
        """Note the assessment the record is saved with (its events are all stored as documents by now): what
        a next batch needs is kept, the rest let go."""
        self.assessed = assessment
        current = {id(marked) for marked in assessment.sessions}
        self._views = {key: view for key, view in self._views.items() if key in current}
        self.events.slimmed(keep=WORDED_KINDS)

    def continued(self, document: Document) -> "ClientRecord":
        """A copy of this record to apply more events to, with the clinicians' actions, the announcements and
        the rules of ``document`` (which holds the same events): the caches are copied, never shared, so a
        transaction that is given up leaves this record as it was."""
        record = _actions_from(self.clinic_id, self.client_id, document)
        record.events, record._views = self.events.copy(), dict(self._views)
        record._history, record._added = self._history, list(self._added)
        record.assessed = self.assessed
        return record


def record_key(clinic_id: str, client_id: str) -> str:
    return f"{clinic_id}:{client_id}"


# The fields a record is made of besides its events, and its events' ids: enough to tell whether a kept record
# still holds (the read model, by far the largest part of a document, is never read back).
_CONTINUATION = {
    "events.id": 1,
    "resolutions": 1,
    "acknowledgements": 1,
    "emitted": 1,
    "rules": 1,
}
_RECORD = {"alliance": 0}
KEPT_EVENTS = 20_000  # events of the records kept between batches, in all (some 7 KiB each)
# A shorter history is loaded and judged again in less time than keeping it costs: a kept record's objects live
# on into the collector's oldest generation, which walks them again and again (some 30 µs an event, measured).
KEPT_FROM_EVENTS = 50


CONTRIBUTIONS_INDEX = "clinic_contributions"
# A caseload is read from this index alone: each client's entry (its summary, its open episode and its latest
# client SRS totals, ``_view_parts``) is in it, in client order.
CASELOAD_ENTRY = "caseload_entry"
CASELOAD_INDEX = [
    ("clinic_id", ASCENDING),
    ("therapist_id", ASCENDING),
    ("client_id", ASCENDING),
    (CASELOAD_ENTRY, ASCENDING),
]
RECENT_TOTALS = 10  # the client SRS totals an entry keeps: those the caseload view draws (its SPARK_SESSIONS)
COMPLETING_BATCH = 500  # documents per write while the parts the views read are completed
# Indexes of earlier versions that those above serve.
SERVED_INDEXES = ("clinic_id_1_last_session_at_1", "clinic_id_1_therapist_id_1_client_id_1")


class ClientStore:
    def __init__(self, collection: AsyncCollection[Document], kept_events: int = KEPT_EVENTS) -> None:
        self.collection = collection
        self._kept: OrderedDict[str, ClientRecord] = OrderedDict()  # least recently committed first
        self._kept_events = 0
        self._kept_limit = kept_events

    async def ensure_indexes(self) -> None:
        c = self.collection
        await c.create_index([("clinic_id", ASCENDING), ("client_id", ASCENDING)], unique=True)
        await c.create_index(CASELOAD_INDEX)
        await c.create_index([("clinic_id", ASCENDING), ("episode_ids", ASCENDING)])  # resolve, acknowledge
        # The clinic's figures, from the index alone: the active clients' contributions, and the open episodes
        # (only theirs are in that index).
        await c.create_index(
            [
                ("clinic_id", ASCENDING),
                ("last_session_at", ASCENDING),
                (clinic_contributions.CONTRIBUTION, ASCENDING),
            ],
            name=CONTRIBUTIONS_INDEX,
        )
        await c.create_index(
            [
                ("clinic_id", ASCENDING),
                ("last_session_at", ASCENDING),
                (clinic_contributions.OPEN_EPISODE, ASCENDING),
            ],
            partialFilterExpression={clinic_contributions.OPEN_EPISODE: {"$type": "object"}},
        )
        for served in set(SERVED_INDEXES) & set(await c.index_information()):
            await c.drop_index(served)
        # Documents saved before these parts existed get them from their read model, unless saved again
        # meanwhile (their save time tells). Whether there are any, the index alone says.
        kind: Document = {"$project": {"_id": 0, "kind": {"$type": f"${clinic_contributions.CONTRIBUTION}"}}}
        lacking = [kind, {"$match": {"kind": {"$ne": "object"}}}, {"$limit": 1}]
        if not await (await c.aggregate(lacking, hint=CONTRIBUTIONS_INDEX)).to_list():
            return
        missing = c.find(
            {clinic_contributions.CONTRIBUTION: {"$exists": False}}, {"alliance": 1, "updated_at": 1}
        )
        completing = []
        async for document in missing:
            parts = _view_parts(ClientAlliance.model_validate(document["alliance"]))
            unchanged = {"_id": document["_id"], "updated_at": document.get("updated_at")}
            completing.append(UpdateOne(unchanged, {"$set": parts}))
            if len(completing) == COMPLETING_BATCH:
                await c.bulk_write(completing, ordered=False)
                completing = []
        if completing:
            await c.bulk_write(completing, ordered=False)

    async def load(
        self, clinic_id: str, client_id: str, session: AsyncClientSession | None = None
    ) -> ClientRecord:
        return (await self.load_many([(clinic_id, client_id)], session))[(clinic_id, client_id)]

    async def load_many(
        self, keys: Sequence[tuple[str, str]], session: AsyncClientSession | None = None
    ) -> dict[tuple[str, str], ClientRecord]:
        """The records of (clinic, client) ``keys``; a new, empty record for an unknown client. One query, and a
        second for the clients this process has no record of that still holds (see the module's docstring)."""
        wanted = {record_key(*key): key for key in keys}
        records = {key: ClientRecord(*key) for key in keys}
        unknown = []
        async for document in self.collection.find(
            {"_id": {"$in": list(wanted)}}, _CONTINUATION, session=session
        ):
            kept = self._kept.get(document["_id"])
            if kept is not None and [event["id"] for event in document["events"]] == list(kept.events):
                records[wanted[document["_id"]]] = kept.continued(document)
            else:
                unknown.append(document["_id"])
        if unknown:
            async for document in self.collection.find({"_id": {"$in": unknown}}, _RECORD, session=session):
                key = wanted[document["_id"]]
                records[key] = _record_from(key, document)
        return records

    def remember(self, committed: Iterable[ClientRecord]) -> None:
        """Keep the records as saved by a transaction that has committed: the next batch of each client goes
        on from there. Short histories are not kept (``KEPT_FROM_EVENTS``), and the least recently committed
        are let go beyond ``kept_events`` events in all."""
        for record in committed:
            known = self._kept.pop(record.key, None)
            self._kept_events -= len(known.events) if known is not None else 0
            if len(record.events) >= KEPT_FROM_EVENTS:
                self._kept[record.key] = record
                self._kept_events += len(record.events)
        while self._kept_events > self._kept_limit and self._kept:
            _, dropped = self._kept.popitem(last=False)
            self._kept_events -= len(dropped.events)

    async def save(
        self,
        record: ClientRecord,
        assessment: domain.ClientAssessment,
        session: AsyncClientSession | None = None,
    ) -> None:
        await self.collection.bulk_write([_save(record, assessment)], session=session)
        record.saved_with(assessment)

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
        for record, assessment in changes:
            record.saved_with(assessment)

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

    async def caseload(self, clinic_id: str, therapist_id: str) -> list[Document]:
        """The entries (``CASELOAD_ENTRY``) of the clients whose latest session was with the therapist, by client
        id, from the index alone; made from the read model while some document has none yet (saved by a version
        before them, until ``ensure_indexes`` completes it)."""
        query = {"clinic_id": clinic_id, "therapist_id": therapist_id}
        # Named: the unique (clinic, client) index gives the same order, and the planner may pick it, then read
        # every client of the clinic to find the therapist's.
        cursor = self.collection.find(query, {"_id": 0, CASELOAD_ENTRY: 1}).hint(CASELOAD_INDEX)
        stored = [document.get(CASELOAD_ENTRY) async for document in cursor.sort("client_id", ASCENDING)]
        entries: list[Document] = [entry for entry in stored if entry is not None]
        if len(entries) == len(stored):
            return entries
        shown = ("client_id", "summary", "open_episode", "sessions.srs_total")
        read_model = {f"alliance.{name}": 1 for name in shown}
        cursor = self.collection.find(query, {"_id": 0, **read_model})
        entries = []
        async for document in cursor.hint(CASELOAD_INDEX).sort("client_id", ASCENDING):
            alliance = document["alliance"]
            totals = [s["srs_total"] for s in alliance.pop("sessions", []) if s.get("srs_total") is not None]
            entries.append({"open_episode": None, **alliance, "recent_totals": totals[-RECENT_TOTALS:]})
        return entries

    async def active(
        self, clinic_id: str, now: datetime, days: int, *, open_episodes: bool = False
    ) -> ClinicFigures:
        """The figures of the clinic's clients whose latest session is at most ``days`` before ``now``: one
        aggregation over what each client contributes (and, for the clinic view, its open episodes), both read
        from indexes alone. While some active client's document holds no contribution yet (saved by a version
        before them, until ``ensure_indexes`` completes it or the client is saved again), the figures are
        computed from the clients' read models instead, as they always were."""

        async def summed() -> list[Document]:
            pipeline = clinic_contributions.figures_pipeline(clinic_id, now, days)
            return await (await self.collection.aggregate(pipeline)).to_list()

        async def opened() -> list[Document]:
            if not open_episodes:
                return []
            query = clinic_contributions.open_episodes_query(clinic_id, now, days)
            cursor = self.collection.find(query, {"_id": 0, clinic_contributions.OPEN_EPISODE: 1})
            return [document[clinic_contributions.OPEN_EPISODE] async for document in cursor]

        rows, parts = await asyncio.gather(summed(), opened())  # the server works on both at once
        found = clinic_contributions.gathered_figures(rows, parts, now, days)
        if found is not None:
            return found
        cursor = self.collection.find(
            {"clinic_id": clinic_id, "last_session_at": {"$gte": now - timedelta(days=days)}},
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
        active = []
        async for document in cursor:
            alliance = document["alliance"]
            sessions = alliance.pop("sessions", [])
            counted = tuple((s["occurred_at"], s["therapist_id"]) for s in sessions if s.get("counts", True))
            active.append(ActiveClient(_partial_alliance(alliance), counted))
        return clinic_figures.clinic_figures(active, now, window_days=days)


def _record_from(key: tuple[str, str], document: Document) -> ClientRecord:
    record = _actions_from(*key, document)
    for stored in document["events"]:
        event = _stored_event(stored)
        # An upcast event is stored in its new form at the next save.
        record.events.add(event, document=stored if event.type == stored["type"] else None)
    return record


def _actions_from(clinic_id: str, client_id: str, document: Document) -> ClientRecord:
    """A record with the document's clinician actions, announcements and rules, and no events yet."""
    return ClientRecord(
        clinic_id,
        client_id,
        resolutions={r["event_id"]: _resolution_from(r) for r in document["resolutions"]},
        acknowledgements={a["event_id"]: _acknowledgement_from(a) for a in document["acknowledgements"]},
        emitted=_emitted_from(document["emitted"]),
        rules=document.get("rules"),
    )


def _stored_event(stored: Document) -> CloudEvent[Any]:
    return decode_event(KINDS_BY_TYPE[stored["type"]], stored, STORED)


def _save(record: ClientRecord, assessment: domain.ClientAssessment) -> UpdateOne:
    """Replace the document through an update pipeline, not a replacement: MongoDB then logs only what changed
    (a delta of a few hundred bytes) in its oplog instead of the whole document (kilobytes, growing with the
    client's history), and every secondary of a replica set applies that much less. The events keep the order
    they were added in, so a new one is an append to the array, not a shift of every entry after it."""
    document = {"_id": record.key, **_document_of(record, assessment)}
    return UpdateOne({"_id": record.key}, [{"$replaceWith": {"$literal": document}}], upsert=True)


def _document_of(record: ClientRecord, assessment: domain.ClientAssessment) -> Document:
    # The episodes' alerts come from what was announced, which is history, not from the assessment.
    shown = alliance_view(assessment, record.emitted, record.session_view)
    alliance = shown.model_copy(
        update={
            "notes": note_views(record.events.of_kinds(WORDED_KINDS)),
            "goals": goal_views(assessment, record.events.of_kinds(WORDED_KINDS)),
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
        **_view_parts(alliance),
        "updated_at": datetime.now(UTC),
    }


def _view_parts(alliance: ClientAlliance) -> Document:
    """What the clinic's figures and the caseload read of the client, kept beside the read model they are derived
    from and indexed (``ClientStore.ensure_indexes``), so that those reads never touch the read model itself."""
    opened = alliance.open_episode
    totals = [session.srs_total for session in alliance.sessions if session.srs_total is not None]
    return {
        clinic_contributions.CONTRIBUTION: clinic_contributions.contribution(alliance),
        clinic_contributions.OPEN_EPISODE: clinic_contributions.open_episode_part(alliance),
        CASELOAD_ENTRY: {
            "client_id": alliance.client_id,
            "summary": alliance.summary.model_dump(),
            "open_episode": opened.model_dump() if opened else None,
            "recent_totals": totals[-RECENT_TOTALS:],
        },
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
