"""A long history and a rating resent many times, applied batch by batch on a real MongoDB: a store that goes on
from the records it committed last stores and stages exactly what loading every batch from the database does,
also when another replica wrote the same client in between (its kept record is stale then and must not be used).
"""

import json
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.scoring.app import CLIENTS, OUTBOX, SETTINGS
from services.scoring.clients import ClientStore
from services.scoring.clinic_settings import ClinicSettingsStore
from services.scoring.service import ScoringService
from services.scoring.settings import ScoringSettings
from services.scoring.trajectory_models import MODELS, TrajectoryModels
from shared import mongo
from shared.contracts import (
    FEEDBACK_SUBMITTED,
    SESSION_COMPLETED,
    Attendance,
    CloudEvent,
    FeedbackSubmittedV2,
    Instrument,
    Respondent,
    SessionCompletedV1,
)
from shared.messaging import Outbox, OutboxRelay, make_broker
from shared.privacy.plumbing import Privacy
from tests.integration.scoring.streams import SOURCE, session_at, srs_items
from tests.support.servers import Servers

Document = dict[str, Any]
CLINIC, CLIENT = "clinic-long", "c-long"
BATCH = 7  # events per batch: a client's history spans many batches


def _rating(n: int, total: str, sent: int = 0, respondent: str = "client") -> CloudEvent[Any]:
    data = FeedbackSubmittedV2(
        session_id=f"s{n:02d}",
        therapist_id="t-1",
        client_id=CLIENT,
        session_at=session_at(n),
        instrument=Instrument.SRS,
        respondent=Respondent(respondent),
        items=srs_items(total),
        submitted_at=session_at(n) + timedelta(hours=1, seconds=5 * sent),
    )
    event_id = f"{respondent}-srs-{n}-{sent}"
    return FEEDBACK_SUBMITTED.envelope(
        data, clinic_id=CLINIC, client_id=CLIENT, source=SOURCE, event_id=event_id, time=data.submitted_at
    )


def _attendance(n: int, attendance: str = "attended") -> CloudEvent[Any]:
    data = SessionCompletedV1(
        session_id=f"s{n:02d}",
        therapist_id="t-1",
        client_id=CLIENT,
        occurred_at=session_at(n),
        attendance=Attendance(attendance),
        scheduled_minutes=50,
    )
    return SESSION_COMPLETED.envelope(
        data, clinic_id=CLINIC, client_id=CLIENT, source=SOURCE, event_id=f"att-{n}", time=session_at(n)
    )


def history() -> list[CloudEvent[Any]]:
    """40 weekly sessions with two dips (episodes and alerts, one repaired), a no-show, therapist ratings, the
    rating of session 30 resent 60 times, and a late therapist rating of session 5 (a change deep in the past)."""
    events: list[CloudEvent[Any]] = []
    for n in range(1, 41):
        events.append(_attendance(n, "no_show" if n == 12 else "attended"))
        if n == 12:
            continue
        events.append(_rating(n, "29.5" if n in (10, 25) else "33" if n == 26 else "38"))
        if n % 4 == 0:
            events.append(_rating(n, "39", respondent="therapist"))
        if n == 30:
            events += [_rating(n, "35.5" if sent % 2 else "37", sent) for sent in range(1, 61)]
    return [*events, _rating(5, "40", respondent="therapist")]


async def _service(client: AsyncMongoClient[Document], database: str, kept_events: int) -> ScoringService:
    settings = ScoringSettings(mongodb_database=database)
    db = client[database]
    clients, outbox = ClientStore(db[CLIENTS], kept_events=kept_events), Outbox(db[OUTBOX])
    await clients.ensure_indexes()
    settings_store = ClinicSettingsStore(db[SETTINGS], TrajectoryModels(db[MODELS]))
    relay = OutboxRelay(
        outbox, make_broker(settings, "scoring"), "scoring"
    )  # never started: nothing published
    return ScoringService(client, clients, settings_store, outbox, relay, Privacy.of(db, settings))


async def _apply(services: Sequence[ScoringService], events: list[CloudEvent[Any]]) -> None:
    """Batch after batch, the services taking turns (replicas between which the client moves)."""
    for number, start in enumerate(range(0, len(events), BATCH)):
        refused = await services[number % len(services)].apply_batch(events[start : start + BATCH])
        assert refused == {}


async def _state(client: AsyncMongoClient[Document], database: str) -> tuple[Document, list[Document]]:
    """The client's document but its time of writing, and what was staged, in order but the envelopes' times
    (an ``alliance.updated`` is stamped when it is made)."""
    db = client[database]
    document = await db[CLIENTS].find_one({"_id": f"{CLINIC}:{CLIENT}"}, {"updated_at": 0})
    assert document is not None
    staged = []
    async for row in db[OUTBOX].find({}, {"order": 0}).sort("order", 1):
        value = json.loads(row.pop("value"))
        value.pop("time")
        staged.append({**row, "value": value})
    return document, staged


@pytest.fixture
async def mongo_client(
    servers: Servers, unique: str
) -> AsyncIterator[tuple[AsyncMongoClient[Document], str]]:
    client = mongo.connect(ScoringSettings(mongodb_uri=servers.mongodb_uri))
    try:
        yield client, unique
    finally:
        for name in await client.list_database_names():
            if name.startswith(f"long_{unique}"):
                await client.drop_database(name)
        await client.close()


async def test_going_on_from_kept_records_stores_and_stages_what_loading_each_batch_does(
    mongo_client: tuple[AsyncMongoClient[Document], str],
) -> None:
    client, unique = mongo_client
    events = history()
    reloaded, kept, moved = f"long_{unique}_reloaded", f"long_{unique}_kept", f"long_{unique}_moved"
    await _apply([await _service(client, reloaded, kept_events=0)], events)
    await _apply([await _service(client, kept, kept_events=100_000)], events)
    replicas = [await _service(client, moved, kept_events=100_000) for _ in range(2)]
    await _apply(replicas, events)

    expected, expected_staged = await _state(client, reloaded)
    assert len(expected["events"]) == len(events)
    assert len(expected["alliance"]["past_episodes"]) == 2  # the dips opened episodes, alerted and closed
    assert any(row["topic"] == "rupture.suspected" for row in expected_staged)
    for database in (kept, moved):
        document, staged = await _state(client, database)
        assert document == expected
        assert staged == expected_staged


async def test_a_batch_applied_again_after_another_replica_wrote_changes_nothing(
    mongo_client: tuple[AsyncMongoClient[Document], str],
) -> None:
    """Redelivery after a rebalance: the batch was applied by the other replica, so its events are known from
    the document, not from the stale record this replica kept."""
    client, unique = mongo_client
    database = f"long_{unique}_redelivered"
    first, second = [await _service(client, database, kept_events=100_000) for _ in range(2)]
    events = history()
    await _apply([first], events[:70])  # long enough to be kept
    await _apply([second], events[70:77])
    before = await _state(client, database)
    await _apply([first], events[70:77])
    assert await _state(client, database) == before
