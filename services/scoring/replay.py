"""Rebuild the scoring database from Kafka: ``python -m services.scoring.replay --database <fresh-db>``.

Kafka is the source of truth; this reads, without a consumer group, every partition of

- ``client.events`` (and the deprecated ``session.completed`` and ``feedback.submitted``): the facts of each
  client's history;
- ``rupture.acknowledged``: the acknowledgements (clinician actions);
- ``rupture.resolved``: what was announced as resolved, and, for ``how=manual``, the manual resolution itself
  (the resolve endpoint publishes it through the outbox with ``note`` and ``resolved_by``, contract v2, so
  Kafka holds every clinician action; a v1 manual event without ``resolved_by`` cannot be re-created and is
  counted as skipped);
- ``rupture.suspected``: what was announced as suspected,

from the beginning up to the end offsets captured at start (events arriving later are the live service's
business). The state of a client is a pure function of its set of facts, its set of actions and its clinic's
thresholds, so the order in which topics are read does not matter; each client is then assessed by the same
domain call as the live service and saved with the same store, read model included.

Nothing is published. The outbox of the rebuilt database stays empty: what was already announced is not
re-derived from intermediate states (which depend on arrival order) but taken from the announcement topics
themselves, as each client's ``EmittedLog``. A service started on the rebuilt database therefore owes exactly
what the old one still owed (nothing, once its relay had caught up), and deterministic ids let consumers drop
any repeat. Messages the live service dead-lettered (bad JSON, invalid, refused by the domain, an id reused
with other content) are skipped here the same way.

Clinic thresholds are configuration, not events: ``--settings-from <db>`` copies ``scoring_clinic_settings``
from a database (usually the live one) first; without it every clinic gets the defaults. The clients' data
keys are not in Kafka either (docs/privacy.md): the same option copies ``client_keys``, without which the
words sealed in the events read ``[unreadable]`` in the rebuilt views.

Erased clients (the compacted ``client.erased``, read first) are skipped, and their erasure records are kept
again (without the reason, which only the database held). Words an old event carried in the clear are sealed
before they are stored, as the live service does.
"""

import argparse
import asyncio
import dataclasses
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pymongo.asynchronous.database import AsyncDatabase

from services.scoring import domain
from services.scoring.app import AUDIT, CLIENTS, OUTBOX, SETTINGS
from services.scoring.audit import AuditLog
from services.scoring.clients import KINDS_BY_TYPE, ClientRecord, ClientStore
from services.scoring.clinic_settings import ClinicSettingsStore
from services.scoring.compare import client_differences
from services.scoring.lifecycle.erasure import keep_record
from services.scoring.service import assess
from services.scoring.settings import ScoringSettings
from services.scoring.translate import acknowledgement_from, fact_from, manual_resolution_from
from shared import mongo
from shared.contracts import (
    CLIENT_ERASED,
    CLIENT_HISTORY,
    RUPTURE_ACKNOWLEDGED,
    RUPTURE_RESOLVED,
    RUPTURE_SUSPECTED,
    ClientErasedV1,
    CloudEvent,
    ContractViolation,
    EventKind,
)
from shared.contracts.registry import TYPE_PREFIX
from shared.messaging import Outbox
from shared.messaging.compacted import read_all
from shared.messaging.subscription import InboundTopics
from shared.privacy.erasure import ErasedClients
from shared.privacy.keys import COLLECTION as KEYS
from shared.privacy.plumbing import Privacy
from shared.privacy.words import CLEAR, Words

KINDS: tuple[EventKind[Any], ...] = (
    *CLIENT_HISTORY,
    RUPTURE_ACKNOWLEDGED,
    RUPTURE_RESOLVED,
    RUPTURE_SUSPECTED,
)
# Records are decoded as the live service decodes them: by topic, and on a topic of several kinds by type.
INBOUND = InboundTopics.of(KINDS)
# The kinds a client's history is made of (facts), by the prefix of their CloudEvent type.
HISTORY_TYPES = tuple(f"{TYPE_PREFIX}{kind.name}.v" for kind in CLIENT_HISTORY)


WRITE_BATCH = 500  # clients per bulk write


@dataclass
class Rebuild:
    """Everything read so far, per client; pure bookkeeping, no I/O."""

    records: dict[tuple[str, str], ClientRecord] = field(default_factory=dict)
    announced: dict[tuple[str, str], domain.EmittedLog] = field(default_factory=dict)
    erased: ErasedClients = field(default_factory=ErasedClients)
    read: int = 0
    skipped: int = 0
    erased_skipped: int = 0  # records of erased clients
    first_read_at: float | None = None  # monotonic time of the first record, for the throughput line

    def add(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """One record, read as the live consumer reads it: what it dead-letters, the replay skips."""
        if self.first_read_at is None:
            self.first_read_at = time.monotonic()
        self.read += 1
        try:
            self._add(INBOUND.read(record))
        except ContractViolation:
            self.skipped += 1

    def _add(self, event: CloudEvent[Any]) -> None:
        key = (event.clinicid, event.data.client_id)
        if self.erased.contains(*key):
            self.erased_skipped += 1
            return
        if event.type.startswith(HISTORY_TYPES):
            fact = fact_from(event)  # raises what the live consumer dead-lettered
            record = self._record(key)
            known = record.events.get(event.id)
            if known is None:
                record.add_event(event, fact)
            elif known != event:
                raise ContractViolation("id reused with other content")
        elif event.type.startswith("org.alliance.rupture.acknowledged."):
            self._record(key).acknowledgements[event.id] = acknowledgement_from(event)
        elif event.type.startswith("org.alliance.rupture.resolved."):
            self._announced(key, lambda log: log.with_resolution(event.data.rupture_id))
            if event.data.how == "manual":
                resolution = manual_resolution_from(event)
                if resolution is None:
                    raise ContractViolation("manual resolution without resolved_by")
                self._record(key).resolutions[event.id] = resolution
        else:
            data = event.data
            severity = domain.Severity(data.severity.value)
            self._announced(
                key,
                lambda log: log.with_alert(
                    data.rupture_id, severity, stale=data.stale, from_history=data.from_history
                ),
            )

    def _record(self, key: tuple[str, str]) -> ClientRecord:
        return self.records.setdefault(key, ClientRecord(*key))

    def _announced(
        self, key: tuple[str, str], announce: Callable[[domain.EmittedLog], domain.EmittedLog]
    ) -> None:
        """One announcement read back; a client's alerts are read in the order they were announced (one
        partition), so the first alert read for an episode is its first."""
        self.announced[key] = announce(self.announced.get(key, domain.EmittedLog()))


async def read_topics(bootstrap: str, rebuild: Rebuild, progress_every: int, out: TextIO) -> None:
    consumer = AIOKafkaConsumer(
        *INBOUND.names,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = await _assigned(consumer)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        remaining = {tp for tp in partitions if starts[tp] < ends[tp]}
        total = sum(ends[tp] - starts[tp] for tp in partitions)
        print(f"replay: reading about {total} records from {len(partitions)} partitions", file=out)
        while remaining:
            batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = await consumer.getmany(
                *remaining, timeout_ms=500
            )
            for tp, records in batch.items():
                for record in records:
                    if record.offset < ends[tp] and record.value is not None:
                        rebuild.add(record)
                        if rebuild.read % progress_every == 0:
                            print(
                                f"replay: {rebuild.read}/{total} records, {rebuild.skipped} skipped", file=out
                            )
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()


async def _assigned(consumer: AIOKafkaConsumer, within: float = 30.0) -> list[TopicPartition]:
    """Without a group, a subscribed consumer is assigned every partition once it has the metadata."""
    deadline = asyncio.get_running_loop().time() + within
    while {tp.topic for tp in consumer.assignment()} != set(INBOUND.names):
        if asyncio.get_running_loop().time() > deadline:
            raise SystemExit(f"replay: topics not all found: {sorted(INBOUND.names)}")
        await asyncio.sleep(0.05)
    return sorted(consumer.assignment())


async def read_erasures(bootstrap: str) -> list[CloudEvent[ClientErasedV1]]:
    """Every erasure on ``client.erased`` (compacted: the latest record of each client)."""
    erasures: list[CloudEvent[ClientErasedV1]] = []
    await read_all(bootstrap, CLIENT_ERASED, erasures.append)
    return erasures


async def seal_words(record: ClientRecord, words: Words) -> None:
    """Seal the words old events and resolutions carried in the clear (what the live service stores)."""
    for event in list(record.events.values()):
        sealed = await words.seal_event(KINDS_BY_TYPE[event.type], event)
        if sealed is not event:
            record.add_event(sealed, fact_from(sealed))
    for event_id, resolution in list(record.resolutions.items()):
        if resolution.note.startswith(CLEAR):
            note = await words.seal(
                record.clinic_id, record.client_id, event_id, resolution.note[len(CLEAR) :]
            )
            record.resolutions[event_id] = dataclasses.replace(resolution, note=note or resolution.note)


async def write(
    db: AsyncDatabase[mongo.Document], rebuild: Rebuild, out: TextIO, words: Words | None = None
) -> None:
    clients, settings = ClientStore(db[CLIENTS]), ClinicSettingsStore(db[SETTINGS])
    for store in (clients, Outbox(db[OUTBOX]), AuditLog(db[AUDIT])):
        await store.ensure_indexes()
    thresholds = await settings.thresholds_of({clinic_id for clinic_id, _ in rebuild.records})
    changes: list[tuple[ClientRecord, domain.ClientAssessment]] = []
    # One bulk write in flight while the next clients are assessed: MongoDB writes on the other core.
    saving: asyncio.Task[None] | None = None
    for key, record in rebuild.records.items():
        if words is not None:
            await seal_words(record, words)
        assessment = assess(record, thresholds[record.clinic_id])
        # What was announced, read back; announced under rules replay cannot know, so what the current rules
        # imply about the past is adopted (as the live service does after a change of the rules): a client
        # whose relay had caught up gets exactly the live log, and no one is alerted about the past.
        record.emitted = domain.adopted(assessment.timeline, rebuild.announced.get(key, domain.EmittedLog()))
        record.rules = domain.rules_version(thresholds[record.clinic_id])
        changes.append((record, assessment))
        if len(changes) == WRITE_BATCH:
            if saving is not None:
                await saving
            saving = asyncio.create_task(clients.save_many(changes))
            changes = []
    if saving is not None:
        await saving
    await clients.save_many(changes)
    print(f"replay: wrote {len(rebuild.records)} clients", file=out)


async def replay(
    settings: ScoringSettings,
    database: str,
    *,
    settings_from: str | None = None,
    progress_every: int = 1000,
    out: TextIO = sys.stderr,
) -> Rebuild:
    client = mongo.connect(settings)
    try:
        db = client.get_database(database)
        if await db[CLIENTS].estimated_document_count() or await db[OUTBOX].estimated_document_count():
            raise SystemExit(f"replay: database {database!r} is not fresh; refusing to write into it")
        if settings_from is not None:
            for name in (SETTINGS, KEYS):
                documents = await client.get_database(settings_from)[name].find().to_list()
                if documents:
                    await db[name].insert_many(documents)
        privacy = Privacy.of(db, settings)
        await privacy.keys.verify()
        rebuild = Rebuild()
        erasures = await read_erasures(settings.kafka_bootstrap_servers)
        for erasure in erasures:
            rebuild.erased.add(erasure.clinicid, erasure.data.client_id)
        await read_topics(settings.kafka_bootstrap_servers, rebuild, progress_every, out)
        print(
            f"replay: read {rebuild.read} records, {rebuild.skipped} skipped, {rebuild.erased_skipped} of "
            f"{rebuild.erased.count} erased clients skipped",
            file=out,
        )
        await write(db, rebuild, out, privacy.words)
        for erasure in erasures:
            await keep_record(db, erasure)
        if rebuild.first_read_at is not None:
            seconds = time.monotonic() - rebuild.first_read_at
            print(
                f"replay: {rebuild.read} records in {seconds:.3f} s from the first record read to the last "
                f"client written ({rebuild.read / max(seconds, 1e-9):.0f} records/s)",
                file=out,
            )
        return rebuild
    finally:
        await client.close()


async def _compare(settings: ScoringSettings, left: str, right: str) -> list[str]:
    client = mongo.connect(settings)
    try:
        return await client_differences(
            client.get_database(left)[CLIENTS], client.get_database(right)[CLIENTS]
        )
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m services.scoring.replay", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--database", required=True, help="a fresh database to rebuild into")
    parser.add_argument("--settings-from", help="copy the clinics' thresholds from this database first")
    parser.add_argument("--progress-every", type=int, default=1000, help="a progress line every N records")
    parser.add_argument("--compare-with", help="afterwards, list the differences with this database")
    args = parser.parse_args(argv)
    settings = ScoringSettings()
    asyncio.run(
        replay(settings, args.database, settings_from=args.settings_from, progress_every=args.progress_every)
    )
    if args.compare_with:
        differences = asyncio.run(_compare(settings, args.database, args.compare_with))
        for line in differences:
            print(line)
        print(f"replay: {len(differences)} differences with {args.compare_with}", file=sys.stderr)
        raise SystemExit(1 if differences else 0)


if __name__ == "__main__":
    main()
