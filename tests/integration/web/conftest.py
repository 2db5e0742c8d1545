"""The clinician views on the real servers: the scoring app served by uvicorn on a loopback port (its own
database and consumer group), read models seeded straight into MongoDB from the devstack demo history, and a
headless Chromium (Debian's, through its chromedriver; ``make chromium``)."""

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase
from selenium import webdriver

from devstack import demo
from services.scoring import domain
from services.scoring.app import create_app
from services.scoring.clients import ClientRecord, ClientStore
from services.scoring.domain.announcements import alerts_from_history
from services.scoring.projection import alliance_view
from services.scoring.service import assess
from services.scoring.settings import ScoringSettings
from services.scoring.web import WebSettings
from shared import mongo
from shared.auth import KeyRing, Scope, hash_key
from shared.client_links import ClientPageSettings
from shared.contracts import FEEDBACK_SUBMITTED, SESSION_COMPLETED, CloudEvent
from shared.privacy.plumbing import Privacy
from shared.topics import ALL_TOPICS
from tests.support.browser import chromium, served
from tests.support.kafka import start_group_at_end
from tests.support.servers import Servers, free_port

Document = dict[str, Any]
SOURCE = "/tests/views"


def demo_events(clinic_id: str, now: datetime, clients: tuple[demo.DemoClient, ...]) -> list[CloudEvent[Any]]:
    """The devstack demo history as the events the feedback service would have published."""
    events: list[CloudEvent[Any]] = []
    for n, item in enumerate(demo.history(now, clients)):
        data = dict(item["data"])
        if item["type"] == "session.completed":
            kind: Any = SESSION_COMPLETED
        else:
            kind = FEEDBACK_SUBMITTED
            data["submitted_at"] = datetime.fromisoformat(data["session_at"]) + timedelta(hours=1)
        events.append(
            kind.envelope(
                kind.model.model_validate(data),
                clinic_id=clinic_id,
                client_id=data["client_id"],
                source=SOURCE,
                event_id=f"{clinic_id}-{n}",
            )
        )
    return events


def records_of(clinic_id: str, events: list[CloudEvent[Any]]) -> dict[str, ClientRecord]:
    records: dict[str, ClientRecord] = {}
    for event in events:
        client_id = event.data.client_id
        record = records.setdefault(client_id, ClientRecord(clinic_id, client_id))
        record.events[event.id] = event
    return records


def announce(record: ClientRecord, assessment: domain.ClientAssessment, imported_at: datetime | None) -> None:
    """Record in ``record.emitted`` what scoring announces for ``assessment``: every alert news, as when each
    rating arrived right after its session; or, for a history imported at ``imported_at``, each alert whose
    session is older than the push horizon then is from history."""
    owed = assessment.owed_events(record.emitted)
    horizon = assessment.thresholds.push_horizon_days
    history = frozenset() if imported_at is None else alerts_from_history(owed, imported_at, horizon)
    record.emitted = record.emitted.record(owed, from_history=history)


async def seed_read_models(
    db: AsyncDatabase[Document],
    clinic_id: str,
    events: list[CloudEvent[Any]],
    imported_at: datetime | None = None,
) -> None:
    """Store each client's record and read model as scoring would after applying ``events`` (announced live,
    or imported at ``imported_at``)."""
    store = ClientStore(db["scoring_clients"])
    for record in records_of(clinic_id, events).values():
        assessment = assess(record, domain.Thresholds())
        announce(record, assessment, imported_at)
        await store.save(record, assessment)
        # The read model with what was announced: its alerts, and which episodes are imported history.
        alliance = alliance_view(assessment, record.emitted).model_dump()
        await db["scoring_clients"].update_one({"_id": record.key}, {"$set": {"alliance": alliance}})


# Version 2.1's stories beside the demo: a client whose usual sits below the cutoff (its first episode, opened
# before it had a baseline, settles once its low totals are its usual).
USUAL_LOW = demo.DemoClient(
    "c-usual-low", "t-demo-2", (31.0,) * 10, (33.0,) * 10, (24.0,) * 10, "a usual below the cutoff"
)
IMPORTED_CLIENTS = (*demo.CLIENTS, USUAL_LOW)


@dataclass
class ViewsStack:
    """One served scoring app with the clinician views, and clinic A seeded with the demo history."""

    base_url: str
    ring: KeyRing
    db: AsyncDatabase[Document]
    bootstrap: str
    clinic: str  # clinic A: the demo history, announced as it happened
    other_clinic: str  # clinic B: some of the same client ids, other numbers
    imported_clinic: str  # clinic C: the demo history and a client whose usual is low, imported today
    pages: (
        ClientPageSettings  # the clients' own pages: served here, answered at the intake of ``intake_served``
    )

    def key_for(self, clinic_id: str, *scopes: Scope) -> str:
        api_key = f"key-{clinic_id}-{'-'.join(scopes)}-{uuid.uuid4().hex[:6]}"
        self.ring.apply(hash_key(api_key), clinic_id, frozenset(scopes), revoked=False)
        return api_key

    async def link(self, clinic_id: str, **body: str) -> str:
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            answer = await http.post(
                "/v1/view-links",
                json=body,
                headers={"Authorization": f"Bearer {self.key_for(clinic_id, Scope.READ)}"},
            )
        assert answer.status_code == 200, answer.text
        url: str = answer.json()["url"]
        return url

    async def alliance(self, clinic_id: str, client_id: str) -> Document:
        """The client's stored read model, its words opened (they are stored sealed)."""
        document = await self.db["scoring_clients"].find_one({"_id": f"{clinic_id}:{client_id}"})
        assert document is not None
        alliance: Document = await Privacy.of(self.db).words.open_all(
            clinic_id, client_id, document["alliance"]
        )
        return alliance


@pytest.fixture(scope="module")
async def views_stack(servers: Servers) -> AsyncIterator[ViewsStack]:
    unique = uuid.uuid4().hex[:10]
    settings = ScoringSettings(
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        mongodb_uri=servers.mongodb_uri,
        mongodb_database=f"views_{unique}",
        group_id=f"views-{unique}",
    )
    client = mongo.connect(settings)
    db = mongo.database(client, settings)
    clinic, other = f"clinic-a-{unique}", f"clinic-b-{unique}"
    now = datetime.now(UTC)
    await seed_read_models(db, clinic, demo_events(clinic, now, demo.CLIENTS))
    # Clinic B has a client with the same id as one of A's, and one of its own.
    b_clients = (
        demo.DemoClient("c-steady", "t-demo-1", (30.0,) * 10, (30.0,) * 10, (20.0,) * 10, "clinic B's"),
        demo.DemoClient("c-only-in-b", "t-demo-1", (38.0,) * 10, (38.0,) * 10, (30.0,) * 10, "clinic B's"),
    )
    await seed_read_models(db, other, demo_events(other, now, b_clients))
    imported = f"clinic-c-{unique}"
    await seed_read_models(db, imported, demo_events(imported, now, IMPORTED_CLIENTS), imported_at=now)
    # The app's group begins after what earlier tests left on the shared topics: working through that backlog
    # would keep its event loop, which also answers the browser, busy for many seconds.
    await start_group_at_end(servers.kafka_bootstrap, settings.group_id, [t.name for t in ALL_TOPICS])
    ring, port = KeyRing(), free_port()
    web_settings = WebSettings(secret="test-view-secret", public_url=f"http://127.0.0.1:{port}")
    pages = ClientPageSettings(
        secret=f"client-pages-{unique}",
        page_url=f"http://127.0.0.1:{port}",
        intake_url=f"http://127.0.0.1:{free_port()}",
    )
    app = create_app(settings, ring, web_settings, pages)
    try:
        with served(app, port) as base_url:
            yield ViewsStack(base_url, ring, db, servers.kafka_bootstrap, clinic, other, imported, pages)
    finally:
        await client.drop_database(settings.mongodb_database)
        await client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium(console_log=True) as driver:
        yield driver


@pytest.fixture
def fresh_browser(browser: webdriver.Chrome) -> webdriver.Chrome:
    """The module's browser, without the cookies an earlier test left."""
    browser.delete_all_cookies()
    browser.set_window_size(1280, 900)
    return browser
