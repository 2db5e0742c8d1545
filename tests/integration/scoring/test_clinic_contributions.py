"""The clinic's figures summed by MongoDB from each client's stored contribution are exactly the figures of the
scan over the clients' read models (``clinic_figures.clinic_figures``, kept as the reference): for any clients,
at any moment, including sessions and alerts on the window's edges to the millisecond; through the real save
path; and for documents saved before contributions existed, which are read the old way until completed."""

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from devstack import demo
from services.scoring import clinic_contributions, clinic_figures, domain
from services.scoring.clients import CASELOAD_ENTRY, RECENT_TOTALS, ClientStore
from services.scoring.clinic_figures import ClinicFigures, Figures
from services.scoring.service import assess
from services.scoring.views import (
    AcknowledgementView,
    AlertView,
    ClientAlliance,
    EpisodeView,
    ResolutionView,
    SessionView,
    SummaryView,
)
from services.scoring.web.figures import SPARK_SESSIONS
from shared.repair import RepairStrategy, RuptureType
from tests.integration.web.conftest import announce, demo_events, records_of
from tests.support.servers import Servers

pytestmark = pytest.mark.integration

Document = dict[str, Any]
DAYS = 90
NOW = datetime(2026, 11, 26, 12, 0, 0, 345_678, tzinfo=UTC)  # a moment between two milliseconds
THERAPISTS = ("t-1", "t-2", "t-3")
THERAPISTS_OF_DEMO = sorted({client.therapist_id for client in demo.CLIENTS})
# Times around both ends of the window, to the millisecond and below it, and some anywhere.
EDGES = (
    timedelta(0),
    timedelta(microseconds=-1),
    timedelta(microseconds=-1001),
    timedelta(milliseconds=1),
    timedelta(days=DAYS),
    timedelta(days=DAYS, microseconds=-500),
    timedelta(days=DAYS, milliseconds=1),
    timedelta(days=DAYS, milliseconds=-1),
)


def moments() -> st.SearchStrategy[datetime]:
    """A time before ``NOW`` (or a little after it), often on an edge of the window."""
    on_edge = st.sampled_from(EDGES).map(lambda back: NOW - back)
    anywhere = st.integers(-3 * 86_400_000_000, 140 * 86_400_000_000).map(
        lambda back: NOW - timedelta(microseconds=back)
    )
    return st.one_of(on_edge, anywhere)


@st.composite
def episodes(draw: st.DrawFn, number: int, is_open: bool) -> EpisodeView:
    opened_at = draw(moments())
    how = None if is_open else draw(st.sampled_from(["repaired", "settled", "manual"]))
    acknowledged = draw(st.none() | st.integers(-5_000_000, 400_000_000_000))  # µs; before opening, too
    return EpisodeView(
        rupture_id=f"r-{number}",
        therapist_id=draw(st.sampled_from(THERAPISTS)),
        opening_session_id=f"s-{number}",
        opened_at=opened_at,
        severity=draw(st.sampled_from(["low", "medium", "high"])),
        stale=draw(st.booleans()),
        session_ids=[f"s-{number}"],
        sessions_since_opening=draw(st.integers(0, 6)),
        pre_episode_mean=37.0,
        resolution=None
        if how is None
        else ResolutionView(
            how=how,
            resolved_at=opened_at + timedelta(days=7),
            session_id=None if how == "manual" else f"s-{number}-end",
            sessions_to_repair=draw(st.none() | st.integers(1, 5)) if how == "repaired" else None,
            note="n" if how == "manual" else None,
            resolved_by="sup" if how == "manual" else None,
        ),
        acknowledgement=None
        if acknowledged is None
        else AcknowledgementView(
            acknowledged_by=draw(st.sampled_from(["t-1", "sup"])),
            acknowledged_at=opened_at + timedelta(microseconds=acknowledged),
        ),
        recognised_by=draw(st.sampled_from(["neither", "client", "therapist", "both"])),
        from_history=draw(st.booleans()),
        alerts=[
            AlertView(level=level, session_id=f"s-{number}", session_at=draw(moments()))
            for level in draw(st.lists(st.sampled_from(["low", "medium", "high", "stale"]), max_size=3))
        ],
        rupture_type=draw(st.none() | st.sampled_from(RuptureType)),
        strategies=draw(st.lists(st.sampled_from(RepairStrategy), max_size=3, unique=True)),
    )


@st.composite
def alliances(draw: st.DrawFn, client_id: str) -> ClientAlliance:
    """One client's read model as the figures read it: sessions (cancelled ones too, under several therapists
    for a client who changed), and episodes, at most one open."""
    times = sorted(draw(st.lists(moments(), max_size=6)))
    sessions = [
        SessionView(
            session_id=f"{client_id}-s{n}",
            occurred_at=at,
            therapist_id=draw(st.sampled_from(THERAPISTS)),
            attendance="attended",
            counts=draw(st.booleans() | st.just(True)),
            srs_total=None,
            baseline=None,
            severity="none",
            markers=[],
            ratings=[],
        )
        for n, at in enumerate(times)
    ]
    past = [draw(episodes(n, is_open=False)) for n in range(draw(st.integers(0, 3)))]
    opened = draw(st.none() | episodes(9, is_open=True))
    return ClientAlliance(
        client_id=client_id,
        therapist_id=sessions[-1].therapist_id if sessions else None,
        summary=SummaryView(
            session_count=len(sessions),
            client_srs_count=0,
            latest_session_id=sessions[-1].session_id if sessions else None,
            latest_session_at=times[-1] if times else None,
            latest_srs_total=None,
            latest_severity="none",
            baseline=None,
            trend=None,
            episode_count=len(past) + (opened is not None),
            repaired_count=0,
            resolved_by_hand_count=0,
        ),
        open_episode=opened,
        past_episodes=past,
        sessions=sessions,
    )


def stored(clinic_id: str, alliance: ClientAlliance, contributing: bool) -> Document:
    """A client's document as the store keeps what the figures read: with its contribution, or as saved
    before contributions existed."""
    document = {
        "_id": f"{clinic_id}:{alliance.client_id}",
        "clinic_id": clinic_id,
        "client_id": alliance.client_id,
        "therapist_id": alliance.therapist_id,
        "last_session_at": alliance.summary.latest_session_at,
        "alliance": alliance.model_dump(),
        "updated_at": NOW,
    }
    if contributing:
        document[clinic_contributions.CONTRIBUTION] = clinic_contributions.contribution(alliance)
        document[clinic_contributions.OPEN_EPISODE] = clinic_contributions.open_episode_part(alliance)
    return document


def shown(found: ClinicFigures) -> Document:
    """Everything the summary and the clinic view show of the figures."""

    def group(f: Figures) -> tuple[Any, ...]:
        return (
            f.active_clients,
            f.with_open_episode,
            f.open_share,
            f.guide,
            f.closed,
            len(f.repaired),
            f.settled,
            f.by_hand,
            f.repair_rate,
            f.settle_rate,
            f.median_sessions_to_repair,
            f.median_hours_to_acknowledge,
            f.client_sessions,
            f.push_alerts,
            f.alerts_from_history,
            f.alert_rate,
            f.budget_note,
            f.episodes,
            f.recognised_by_both,
        )

    return {
        "summary": clinic_figures.clinic_summary(found, DAYS),
        "clinic": group(found.clinic),
        "therapists": [(name, group(f)) for name, f in found.therapists.items()],
        "open_episodes": found.open_episodes,
        "by_type": found.repairs.type_figures(),
        "by_strategy": found.repairs.strategy_figures(),
    }


async def both_ways(
    collection: AsyncCollection[Document], clients: Sequence[ClientAlliance], now: datetime
) -> tuple[ClinicFigures, ClinicFigures]:
    """The figures of the same clients summed from their contributions, and read from their read models."""
    summed, scanned = f"clinic-{uuid.uuid4().hex[:10]}", f"clinic-{uuid.uuid4().hex[:10]}"
    if clients:
        await collection.insert_many(
            [stored(summed, a, contributing=True) for a in clients]
            + [stored(scanned, a, contributing=False) for a in clients]
        )
    store = ClientStore(collection)
    return (
        await store.active(summed, now, DAYS, open_episodes=True),
        await store.active(scanned, now, DAYS, open_episodes=True),
    )


@pytest.fixture(scope="module")
def figures_collection(servers: Servers) -> str:
    """A database of its own for this module, its indexes made once."""
    name = f"contributions_{uuid.uuid4().hex[:10]}"

    async def prepare() -> None:
        client: AsyncMongoClient[Document] = AsyncMongoClient(servers.mongodb_uri, tz_aware=True)
        try:
            await ClientStore(client[name]["scoring_clients"]).ensure_indexes()
        finally:
            await client.close()

    asyncio.run(prepare())
    return name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    clients=st.integers(0, 6).flatmap(
        lambda n: st.tuples(*(alliances(f"c-{i}") for i in range(n))) if n else st.just(())
    ),
    shift=st.sampled_from([timedelta(0), timedelta(microseconds=1), timedelta(microseconds=-999)]),
)
def test_the_summed_figures_are_those_of_the_scan(
    servers: Servers, figures_collection: str, clients: tuple[ClientAlliance, ...], shift: timedelta
) -> None:
    async def check() -> None:
        client: AsyncMongoClient[Document] = AsyncMongoClient(servers.mongodb_uri, tz_aware=True)
        try:
            summed, scanned = await both_ways(
                client[figures_collection]["scoring_clients"], clients, NOW + shift
            )
        finally:
            await client.close()
        assert shown(summed) == shown(scanned)

    asyncio.run(check())


async def test_the_save_path_stores_contributions_that_sum_to_the_scan(servers: Servers, unique: str) -> None:
    """The demo history, assessed and saved as scoring saves it (announced live, and imported), then summed."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(servers.mongodb_uri, tz_aware=True)
    database = client[f"contributions_{unique}"]
    store = ClientStore(database["scoring_clients"])
    try:
        await store.ensure_indexes()
        now = datetime.now(UTC)
        saved, imported = f"live-{unique}", f"imported-{unique}"
        for clinic, imported_at in ((saved, None), (imported, now)):
            for record in records_of(clinic, demo_events(clinic, now, demo.CLIENTS)).values():
                assessment = assess(record, domain.Thresholds())
                announce(record, assessment, imported_at)
                await store.save(record, assessment)
        for clinic in (saved, imported):
            summed = await store.active(clinic, now, DAYS, open_episodes=True)
            # The same documents without their contributions are read from their read models.
            unsaved = f"{clinic}-unsaved"
            contributions = {clinic_contributions.CONTRIBUTION: 0, clinic_contributions.OPEN_EPISODE: 0}
            copies = [
                {**document, "_id": f"{unsaved}:{document['client_id']}", "clinic_id": unsaved}
                async for document in database["scoring_clients"].find({"clinic_id": clinic}, contributions)
            ]
            await database["scoring_clients"].insert_many(copies)
            scanned = await store.active(unsaved, now, DAYS, open_episodes=True)
            assert shown(summed) == shown(scanned)
            assert summed.clinic.active_clients == len(demo.CLIENTS) and summed.open_episodes
    finally:
        await client.drop_database(database.name)
        await client.close()


async def test_documents_saved_before_contributions_are_completed_at_start_up(
    servers: Servers, unique: str
) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(servers.mongodb_uri, tz_aware=True)
    database = client[f"contributions_{unique}"]
    collection = database["scoring_clients"]
    store = ClientStore(collection)
    try:
        await store.ensure_indexes()
        now = datetime.now(UTC)
        clinic = f"clinic-{unique}"
        alliances_of = {}
        for record in records_of(clinic, demo_events(clinic, now, demo.CLIENTS)).values():
            assessment = assess(record, domain.Thresholds())
            announce(record, assessment, None)
            await store.save(record, assessment)
            alliances_of[record.client_id] = ClientAlliance.model_validate(
                (await collection.find_one({"_id": record.key}))["alliance"]  # type: ignore[index]
            )
        expected = await store.active(clinic, now, DAYS, open_episodes=True)
        caseloads = {therapist: await store.caseload(clinic, therapist) for therapist in THERAPISTS_OF_DEMO}
        # As an earlier version left them: none of the parts the views read. Read the old way meanwhile.
        parts = {
            clinic_contributions.CONTRIBUTION: 1,
            clinic_contributions.OPEN_EPISODE: 1,
            CASELOAD_ENTRY: 1,
        }
        await collection.update_many({"clinic_id": clinic}, {"$unset": parts})
        assert shown(await store.active(clinic, now, DAYS, open_episodes=True)) == shown(expected)
        for therapist, entries in caseloads.items():
            assert await store.caseload(clinic, therapist) == entries

        await store.ensure_indexes()

        async for document in collection.find({"clinic_id": clinic}):
            alliance = alliances_of[document["client_id"]]
            assert document[clinic_contributions.CONTRIBUTION] == clinic_contributions.contribution(alliance)
            assert document[clinic_contributions.OPEN_EPISODE] == clinic_contributions.open_episode_part(
                alliance
            )
            assert document[CASELOAD_ENTRY]["summary"] == alliance.summary.model_dump()
        for therapist, entries in caseloads.items():
            assert await store.caseload(clinic, therapist) == entries
            assert len(entries) == sum(c.therapist_id == therapist for c in demo.CLIENTS) > 0
        assert shown(await store.active(clinic, now, DAYS, open_episodes=True)) == shown(expected)
    finally:
        await client.drop_database(database.name)
        await client.close()


def test_a_caseload_entry_keeps_the_totals_its_sparkline_draws() -> None:
    assert RECENT_TOTALS == SPARK_SESSIONS
