"""The notify app in this process on the session's real Kafka and MongoDB, a real SMTP server (aiosmtpd) and
real webhook receivers. Each test has its own database, consumer group, clinic and clients."""

import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pymongo.asynchronous.database import AsyncDatabase

from services.notify.app import create_app
from services.notify.client_events import client_pages_group
from services.notify.settings import NotifySettings
from shared import mongo, topics
from shared.auth import KeyRing, Scope, hash_key
from shared.client_links import ClientPageSettings
from shared.contracts import (
    NOTE_SHARED,
    RUPTURE_ACKNOWLEDGED,
    RUPTURE_SUSPECTED,
    CloudEvent,
    MarkerV2,
    NoteSharedV1,
    NoteSharedV2,
    RuptureAcknowledgedV2,
    RuptureSuspectedV4,
    Severity,
    encode,
)
from shared.topics import ALL_TOPICS
from shared.view_links import ViewLink, ViewLinks
from tests.integration.scoring.conftest import scoring  # noqa: F401  (the scoring service, for the tests that run both)
from tests.support.kafka import start_group_at_end
from tests.support.servers import Servers, free_port
from tests.support.webhook_receiver import ReceivedCall, WebhookReceiver, webhook_receiver

Document = dict[str, Any]


@dataclass
class Notify:
    settings: NotifySettings
    ring: KeyRing
    db: AsyncDatabase[Document]
    bootstrap: str
    clinic_id: str
    # The clients' pages as scoring serves them (under the dashboard's URL) and notify links to them.
    pages: ClientPageSettings = field(
        default_factory=lambda: ClientPageSettings(
            secret="notify-tests-client-page-secret", page_url="https://dashboard.example"
        )
    )
    groups_started: set[str] = field(default_factory=set)

    def key(self, *scopes: Scope, clinic_id: str | None = None) -> dict[str, str]:
        clinic = clinic_id or self.clinic_id
        api_key = f"key-{clinic}-{'-'.join(scopes)}-0123456789"
        self.ring.apply(hash_key(api_key), clinic, frozenset(scopes), revoked=False)
        return {"Authorization": f"Bearer {api_key}"}

    @asynccontextmanager
    async def running(self, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        """One instance of the app; leaving the block is a clean shutdown."""
        settings = self.settings.model_copy(update=changes)
        if settings.group_id not in self.groups_started:  # skip what earlier tests left on the shared topics
            await start_group_at_end(self.bootstrap, settings.group_id, [t.name for t in ALL_TOPICS])
            await start_group_at_end(
                self.bootstrap, client_pages_group(settings.group_id), [topics.CLIENT_EVENTS.name]
            )
            self.groups_started.add(settings.group_id)
        app = create_app(settings, self.ring, self.pages)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://notify") as http:
                yield http

    async def deliveries(self, **query: Any) -> list[Document]:
        return await self.db["notify_deliveries"].find(query).to_list()


@pytest.fixture
async def notify(servers: Servers, unique: str, smtp: "Mailbox") -> AsyncIterator[Notify]:
    settings = NotifySettings(
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        mongodb_uri=servers.mongodb_uri,
        mongodb_database=f"notify_{unique}",
        group_id=f"notify-{unique}",
        public_url="http://notify",
        dashboard_url="https://dashboard.example",
        smtp_port=smtp.port,
        # Short enough for tests; the defaults span about 20 minutes.
        backoff_initial_seconds=0.2,
        backoff_max_seconds=1.0,
        delivery_attempts=6,
        delivery_lease_seconds=3.0,
        worker_poll_seconds=0.2,
    )
    client = mongo.connect(settings)
    try:
        yield Notify(
            settings, KeyRing(), mongo.database(client, settings), servers.kafka_bootstrap, f"clinic-{unique}"
        )
    finally:
        await client.drop_database(settings.mongodb_database)
        await client.close()


def rupture(
    client_id: str,
    *,
    severity: Severity = Severity.MEDIUM,
    rupture_id: str | None = None,
    therapist_id: str = "t-1",
    stale: bool = False,
    from_history: bool = False,
) -> RuptureSuspectedV4:
    return RuptureSuspectedV4(
        rupture_id=rupture_id or f"r-{client_id}",
        therapist_id=therapist_id,
        client_id=client_id,
        session_id=f"s-{client_id}",
        session_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
        severity=severity,
        markers=[
            MarkerV2(code="below_cutoff", family="score", level=Severity.MEDIUM, value=31.0, threshold=36.0),
            MarkerV2(
                code="item_low",
                family="score",
                level=Severity.MEDIUM,
                value=6.5,
                threshold=8.0,
                dimension="bond",
            ),
        ],
        srs_total=31.0,
        baseline=37.0,
        stale=stale,
        from_history=from_history,
    )


@dataclass
class Publisher:
    producer: AIOKafkaProducer

    async def rupture(self, clinic_id: str, data: RuptureSuspectedV4, event_id: str | None = None) -> str:
        event = RUPTURE_SUSPECTED.envelope(
            data, clinic_id=clinic_id, client_id=data.client_id, source="/tests/notify", event_id=event_id
        )
        await self.producer.send_and_wait(
            topics.RUPTURE_SUSPECTED.name, encode(event), key=f"{clinic_id}:{data.client_id}".encode()
        )
        return event.id

    async def note(self, clinic_id: str, data: NoteSharedV1, event_id: str | None = None) -> str:
        """As the feedback intake publishes it: on client.events, keyed by the client. A ``NoteSharedV2`` (its
        words sealed) is published as version 2; a ``NoteSharedV1`` as version 1, its words in the clear, as
        producers sent it before words were sealed."""
        event_id = event_id or str(uuid.uuid4())
        if isinstance(data, NoteSharedV2):
            value = encode(
                NOTE_SHARED.envelope(
                    data,
                    clinic_id=clinic_id,
                    client_id=data.client_id,
                    source="/tests/notify",
                    event_id=event_id,
                )
            )
        else:
            event = CloudEvent[NoteSharedV1](
                id=event_id,
                source="/tests/notify",
                type=NOTE_SHARED.type_name(1),
                subject=f"{clinic_id}:{data.client_id}",
                dataschema=NOTE_SHARED.schema_urn(1),
                clinicid=clinic_id,
                data=data,
            )
            value = encode(event)
        await self.producer.send_and_wait(
            NOTE_SHARED.topic.name, value, key=f"{clinic_id}:{data.client_id}".encode()
        )
        return event_id

    async def acknowledgement(self, clinic_id: str, data: RuptureAcknowledgedV2) -> None:
        """As another service (the client view's button) publishes it."""
        event = RUPTURE_ACKNOWLEDGED.envelope(
            data, clinic_id=clinic_id, client_id=data.client_id, source="/tests"
        )
        await self.producer.send_and_wait(
            topics.RUPTURE_ACKNOWLEDGED.name, encode(event), key=f"{clinic_id}:{data.client_id}".encode()
        )


@pytest.fixture
async def publish(servers: Servers) -> AsyncIterator[Publisher]:
    producer = AIOKafkaProducer(bootstrap_servers=servers.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        yield Publisher(producer)
    finally:
        await producer.stop()


@dataclass
class Mailbox:
    """A real SMTP server on loopback (aiosmtpd); ``stop``/``start`` simulate an outage on the same port."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    mailbox = Mailbox(free_port())
    mailbox.start()
    try:
        yield mailbox
    finally:
        mailbox.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as receiver:
        yield receiver


def verify(call: ReceivedCall, secret: str, tolerance: int = 300) -> bool:
    """What a receiver of the deprecated ``X-Alliance-*`` headers does: check the timestamp's age, then the HMAC
    over timestamp.body (the Standard Webhooks headers are checked with the ``standardwebhooks`` library)."""
    timestamp = call.headers["X-Alliance-Timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.{call.raw}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(call.headers["X-Alliance-Signature"], f"sha256={expected}")


def view_link_in(url: str, notify: "Notify") -> ViewLink:
    """The clinician-view link an alert carries, checked with the secret the scoring service shares."""
    prefix = "https://dashboard.example/views/links/"
    assert url.startswith(prefix), url
    settings = notify.settings
    links = ViewLinks(
        settings.view_secret.get_secret_value(), "https://dashboard.example", settings.view_link_days
    )
    link = links.read(url.removeprefix(prefix))
    assert link is not None, "the view link does not verify"
    return link
