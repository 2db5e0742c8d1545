"""Client page links after a shared note: read from client.events, recorded once per note, sent signed to the
clinic's own system through the worker, and never carrying the note's text."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY

from services.notify.client_events import client_pages_group
from services.notify.client_pages import client_page_delivery_id
from shared import topics
from shared.auth import Scope
from shared.client_links import ClientPages
from shared.contracts import SESSION_COMPLETED, NoteSharedV1, SessionCompletedV1, encode
from tests.integration.notify.conftest import Notify, Publisher, verify
from tests.support.kafka import records_matching
from tests.support.waiting import eventually
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration
SECRET = "clinic-secret-0123456789abcdef"
# Words of the note the client must read on their page, and nowhere else.
NOTE_TEXT = "We worked on the argument with your sister; next: one calm talk this week. marker-7f3a"
CLIENT_EVENTS = topics.CLIENT_EVENTS.name


def note(client_id: str, note_id: str) -> NoteSharedV1:
    """A note shared just now: one older than the news horizon owes no link."""
    now = datetime.now(UTC)
    return NoteSharedV1(
        note_id=note_id,
        session_id=f"s-{note_id}",
        therapist_id="t-1",
        client_id=client_id,
        session_at=now - timedelta(hours=1),
        text=NOTE_TEXT,
        shared_at=now,
    )


async def put_routing(http: httpx.AsyncClient, notify: Notify, routing: dict[str, Any], clinic: str) -> None:
    answer = await http.put("/v1/routing", json=routing, headers=notify.key(Scope.ADMIN, clinic_id=clinic))
    assert answer.status_code == 200, answer.text


async def caught_up(notify: Notify) -> None:
    """notify's client pages group has committed client.events up to its current end: every record published so
    far was handled, its intents durable."""
    partitions = [TopicPartition(CLIENT_EVENTS, p) for p in range(topics.CLIENT_EVENTS.partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=notify.bootstrap, group_id=None)
    admin = AIOKafkaAdminClient(bootstrap_servers=notify.bootstrap)
    await consumer.start()
    await admin.start()
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)

        async def committed() -> bool:
            offsets = await admin.list_consumer_group_offsets(client_pages_group(notify.settings.group_id))
            return all(p in offsets and offsets[p].offset >= end for p, end in ends.items())

        await eventually(committed, within=20, what="notify's client pages group caught up on client.events")
    finally:
        await admin.close()
        await consumer.stop()


def links_sent(clinic_id: str) -> float:
    return REGISTRY.get_sample_value("alliance_client_page_links_sent_total", {"clinic": clinic_id}) or 0.0


async def test_a_shared_note_sends_one_signed_link_to_the_clinics_system_and_never_its_text(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id, note_id, fence_id = f"c-{unique}", f"n-{unique}", f"n-fence-{unique}"
    routing = {"client_page": {"webhook_url": webhook.url, "days": 7}, "webhook_secret": SECRET}
    async with notify.running() as http:
        await put_routing(http, notify, routing, notify.clinic_id)
        shown = (await http.get("/v1/routing", headers=notify.key(Scope.ADMIN))).json()
        before = datetime.now(UTC)
        event_id = await publish.note(notify.clinic_id, note(client_id, note_id))
        await publish.note(notify.clinic_id, note(client_id, note_id), event_id=event_id)  # redelivered
        await publish.note(notify.clinic_id, note(client_id, note_id))  # produced twice: a new event id
        # The same client's next note: on the same partition, after the repeats, so once its link is here the
        # repeats have been handled too.
        await publish.note(notify.clinic_id, note(client_id, fence_id))
        await eventually(
            lambda: any(c.body.get("note_id") == fence_id for c in webhook.calls),
            what="the later note's link",
        )
        [delivery] = await notify.deliveries(note_id=note_id)

    assert shown["client_page"] == {
        "webhook_url": webhook.url,
        "days": 7,
        "webhook_secrets": None,
        "webhook_secrets_set": 0,
    }
    assert shown["webhook_secret"] is None and shown["webhook_secret_set"] is True
    calls = [call for call in webhook.calls if call.body.get("note_id") == note_id]
    assert len(calls) == 1, [call.body for call in calls]
    [call] = calls
    print(f"\n--- client page webhook headers: {call.headers}\n--- body:\n{json.dumps(call.body, indent=2)}")
    assert verify(call, SECRET)
    assert not verify(call, "another-secret-0123456789")
    body = call.body
    assert set(body) == {
        "type",
        "delivery_id",
        "clinic_id",
        "client_id",
        "note_id",
        "session_id",
        "url",
        "expires_at",
    }
    assert NOTE_TEXT not in call.raw and "marker-7f3a" not in call.raw
    assert (body["type"], body["clinic_id"], body["client_id"], body["session_id"]) == (
        "client_page.link",
        notify.clinic_id,
        client_id,
        f"s-{note_id}",
    )
    assert body["delivery_id"] == call.headers["X-Alliance-Delivery"]
    assert body["delivery_id"] == client_page_delivery_id(notify.clinic_id, note_id)

    # The link opens the client's own page, served by scoring, for as long as the clinic asked.
    prefix = "https://dashboard.example/c/"
    assert body["url"].startswith(prefix), body["url"]
    link = ClientPages(notify.pages).pages.open(body["url"].removeprefix(prefix))
    assert (link.clinic_id, link.client_id) == (notify.clinic_id, client_id)
    assert datetime.fromisoformat(body["expires_at"]) == link.expires_at
    week = timedelta(days=7)
    assert before.replace(microsecond=0) + week <= link.expires_at <= datetime.now(UTC) + week

    # Settled, the intent no longer holds the link (it opens the page).
    assert delivery["status"] == "sent" and delivery["attempts"] == 1 and "page_url" not in delivery
    assert NOTE_TEXT not in json.dumps(delivery, default=str)
    assert links_sent(notify.clinic_id) == 2  # the note and the later one


async def test_clinics_without_client_page_routing_are_sent_no_link(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    alerts_only, unrouted = f"clinic-alerts-{unique}", f"clinic-none-{unique}"
    routing = {
        "therapists": [{"therapist_id": "t-1", "webhook_url": webhook.url}],
        "webhook_secret": SECRET,
    }
    async with notify.running(webhook_url=webhook.url) as http:  # the fallback is for alerts only
        await put_routing(http, notify, routing, alerts_only)
        for clinic in (alerts_only, unrouted):
            await publish.note(clinic, note(f"c-{unique}", f"n-{unique}"))
        await caught_up(notify)
        deliveries = await notify.db["notify_deliveries"].count_documents({})

    assert deliveries == 0
    assert webhook.attempts == []


async def test_a_failing_receiver_gets_the_same_link_again_until_it_takes_it(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id, note_id = f"c-{unique}", f"n-{unique}"
    webhook.failures = [503, 500]
    routing = {"client_page": {"webhook_url": webhook.url}}  # no secret of its own: the service's signs
    async with notify.running() as http:
        await put_routing(http, notify, routing, notify.clinic_id)
        await publish.note(notify.clinic_id, note(client_id, note_id))
        await eventually(lambda: len(webhook.calls) == 1, what="the link taken on the third attempt")

    assert [call.status for call in webhook.attempts] == [503, 500, 200]
    assert len({call.raw for call in webhook.attempts}) == 1  # the same link, the same delivery id each time
    assert len({call.headers["X-Alliance-Delivery"] for call in webhook.attempts}) == 1
    assert verify(webhook.calls[0], notify.settings.webhook_secret.get_secret_value())
    expires = datetime.fromisoformat(webhook.calls[0].body["expires_at"])
    days = notify.pages.days
    assert timedelta(days=days) - timedelta(minutes=1) <= expires - datetime.now(UTC) <= timedelta(days=days)


async def test_other_records_on_client_events_are_passed_over_and_a_broken_note_is_dead_lettered(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    client_id = f"c-{unique}"
    key = f"{notify.clinic_id}:{client_id}".encode()
    session = SESSION_COMPLETED.envelope(
        SessionCompletedV1(
            session_id=f"s-{unique}",
            therapist_id="t-1",
            client_id=client_id,
            occurred_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
            attendance="attended",
            scheduled_minutes=50,
        ),
        clinic_id=notify.clinic_id,
        client_id=client_id,
        source="/tests/notify",
    )
    good = json.loads(encode(session))
    broken_note = {**good, "id": str(uuid.uuid4()), "type": "org.alliance.note.shared.v1"}  # a session's data
    producer: AIOKafkaProducer = publish.producer
    async with notify.running() as http:
        await put_routing(http, notify, {"client_page": {"webhook_url": webhook.url}}, notify.clinic_id)
        offsets = [
            (await producer.send_and_wait(CLIENT_EVENTS, value, key=key)).offset
            for value in (b"\x00\xffnot json", encode(session), json.dumps(broken_note).encode())
        ]
        await publish.note(notify.clinic_id, note(client_id, f"n-{unique}"))
        await caught_up(notify)
        await eventually(lambda: len(webhook.calls) == 1, what="the good note's link")

    def ours(record: Any) -> bool:
        headers = dict(record.headers)
        return record.key == key and headers.get("x-original-topic") == CLIENT_EVENTS.encode()

    letters = await records_matching(notify.bootstrap, topics.DEAD_LETTER.name, ours, expected=1, settle=2)
    found = [{name: value.decode() for name, value in letter.headers} for letter in letters]
    # Only the record that says it is a note and is none; the others are scoring's to judge.
    assert [(h["x-original-offset"], h["x-dead-letter-reason"]) for h in found] == [
        (str(offsets[2]), "contract")
    ]
    assert [call.body["note_id"] for call in webhook.calls] == [f"n-{unique}"]
