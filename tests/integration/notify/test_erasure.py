"""Erasing a client (docs/privacy.md) as notify lives it: everything it holds of the client is purged, their
later events are dropped and counted, queued work found after the erasure is never sent, and a restarted
notify purges again harmlessly. Checked on the raw BSON of every collection: no document may still carry the
erased client's pseudonym."""

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from bson import ObjectId
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from faststream.kafka import KafkaBroker
from prometheus_client import REGISTRY

from shared.auth import Scope
from shared.contracts import NoteSharedV1, NoteSharedV2, RuptureAcknowledgedV2, Severity
from shared.privacy.erasure import erasure_event, publish_erasure
from shared.privacy.words import seal
from shared.topics import message_key
from tests.integration.notify.conftest import Mailbox, Notify, Publisher, rupture
from tests.support.waiting import eventually
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver

pytestmark = pytest.mark.integration
# Words a note carries: notify reads notes for their ids only and keeps neither the words nor their seal.
NOTE_TEXT = "We talked about the move and your father; next: one walk together. words-5c1e"
Document = dict[str, Any]


def dropped() -> float:
    """Events of erased clients notify dropped so far (in this process)."""
    value = REGISTRY.get_sample_value("alliance_erased_client_events_dropped_total", {"service": "notify"})
    return value or 0.0


def escalations(clinic_id: str) -> float:
    return sum(
        REGISTRY.get_sample_value(
            "alliance_alert_escalations_total", {"clinic": clinic_id, "severity": s.value}
        )
        or 0.0
        for s in Severity
    )


async def mentioning(notify: Notify, text: str) -> set[tuple[str, Any]]:
    """(collection, _id) of every document, in every collection of notify's database, whose raw BSON bytes hold
    ``text``: field names, values, nested documents and binary values (the outbox's Kafka keys and bodies)."""
    raw = CodecOptions(document_class=RawBSONDocument)
    found: set[tuple[str, Any]] = set()
    for name in await notify.db.list_collection_names():
        async for document in notify.db.get_collection(name, codec_options=raw).find():
            bson_bytes = cast(RawBSONDocument, document).raw  # as stored, not as decoded
            if text.encode() in bson_bytes:
                found.add((name, document["_id"]))
    return found


async def erase(notify: Notify, client_id: str) -> None:
    """As scoring's erasure does: one record on the compacted client.erased."""
    broker = KafkaBroker(notify.bootstrap)
    await broker.start()
    try:
        await publish_erasure(broker, erasure_event(notify.clinic_id, client_id, by="operator"))
    finally:
        await broker.stop()


def quiet_hours_around_now() -> dict[str, str]:
    """Quiet hours (UTC) that began an hour ago and end in three: an alert below high waits, pending."""
    now = datetime.now(UTC)
    return {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=3)).strftime("%H:%M"),
    }


def note(client_id: str, *, sealed: bool) -> NoteSharedV1:
    """A note just shared: sealed (version 2, as feedback publishes now) or in the clear (version 1)."""
    now = datetime.now(UTC)
    fields: Document = {
        "note_id": f"n-{client_id}-{uuid.uuid4().hex[:6]}",
        "session_id": f"s-{client_id}",
        "therapist_id": "t-1",
        "client_id": client_id,
        "session_at": now - timedelta(hours=1),
        "shared_at": now,
    }
    if not sealed:
        return NoteSharedV1(**fields, text=NOTE_TEXT)
    return NoteSharedV2(**fields, text=seal(os.urandom(32), "clinic", client_id, uuid.uuid4().hex, NOTE_TEXT))


def acknowledgement(client_id: str, rupture_id: str) -> RuptureAcknowledgedV2:
    return RuptureAcknowledgedV2(
        rupture_id=rupture_id,
        therapist_id="t-1",
        client_id=client_id,
        acknowledged_by="t-1",
        acknowledged_at=datetime.now(UTC),
        via="view",
    )


async def everything_for(notify: Notify, publish: Publisher, client_id: str, *, sealed: bool) -> None:
    """One client's whole life in notify: an alert sent, one pending (quiet hours), one failed for good (dead
    letter, notification.failed), escalation timers, an acknowledgement from elsewhere (also of an episode
    notify never had an alert for) and a client page link after a note."""
    await publish.rupture(
        notify.clinic_id, rupture(client_id, severity=Severity.HIGH, rupture_id=f"r-hi-{client_id}")
    )
    await publish.rupture(notify.clinic_id, rupture(client_id, rupture_id=f"r-med-{client_id}"))
    await publish.rupture(
        notify.clinic_id,
        rupture(client_id, severity=Severity.HIGH, rupture_id=f"r-fail-{client_id}", therapist_id="t-2"),
    )
    await publish.note(notify.clinic_id, note(client_id, sealed=sealed))

    async def recorded() -> bool:
        deliveries = await notify.db["notify_deliveries"].find({"clinic_id": notify.clinic_id}).to_list()
        states = {
            (d.get("rupture_id") or d["kind"], d["status"])
            for d in deliveries
            if d.get("client_id") == client_id
        }
        return {
            (f"r-hi-{client_id}", "sent"),
            (f"r-med-{client_id}", "pending"),
            (f"r-fail-{client_id}", "failed"),
            ("client_page", "sent"),
        } <= states

    await eventually(recorded, within=30, what=f"{client_id}'s deliveries settled")
    await publish.acknowledgement(notify.clinic_id, acknowledgement(client_id, f"r-ack-only-{client_id}"))

    async def acknowledged() -> bool:
        episode = await notify.db["notify_episodes"].find_one({"rupture_id": f"r-ack-only-{client_id}"})
        return episode is not None and episode.get("acknowledged_at") is not None

    await eventually(acknowledged, what=f"{client_id}'s acknowledgement from elsewhere applied")


async def test_an_erased_client_leaves_nothing_in_notify_and_their_late_events_are_dropped(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, smtp: Mailbox, unique: str
) -> None:
    gone, kept = f"gone-{unique}", f"kept-{unique}"
    with webhook_receiver() as failing:
        failing.failures = [500] * 10_000
        routing = {
            "therapists": [
                {"therapist_id": "t-1", "webhook_url": webhook.url},
                {"therapist_id": "t-2", "webhook_url": failing.url},
            ],
            "supervisors": [{"supervisor_id": "sup-1", "email": "lead@clinic.example"}],
            "quiet_hours": quiet_hours_around_now(),
            "ack_deadline_hours": 1,
            "client_page": {"webhook_url": webhook.url},
        }
        async with notify.running(delivery_attempts=2) as http:
            answer = await http.put("/v1/routing", json=routing, headers=notify.key(Scope.ADMIN))
            assert answer.status_code == 200, answer.text
            await everything_for(notify, publish, gone, sealed=True)
            await everything_for(notify, publish, kept, sealed=False)
            # The kept client's alert acknowledged through the API: rupture.acknowledged in the outbox.
            answer = await http.post(
                f"/v1/ruptures/r-hi-{kept}/acknowledge",
                json={"acknowledged_by": "t-1"},
                headers=notify.key(Scope.READ),
            )
            assert answer.status_code == 200, answer.text

            held = {name for name, _ in await mentioning(notify, gone)}
            assert {"notify_deliveries", "notify_dead_letters", "notify_episodes", "notify_outbox"} <= held
            kept_before = await mentioning(notify, kept)
            assert {name for name, _ in kept_before} == held
            calls_for_gone = len(webhook.calls_for(gone))
            assert calls_for_gone == 2  # the high alert and the page link
            dropped_before = dropped()

            await erase(notify, gone)

            async def purged() -> bool:
                return not await mentioning(notify, gone)

            await eventually(purged, within=30, what="every document of the erased client purged")
            assert await mentioning(notify, kept) == kept_before  # the other client's, untouched
            assert await notify.db["notify_episodes"].find_one({"rupture_id": f"r-ack-only-{gone}"}) is None

            # Late events of the erased client: dropped and counted, never dead-lettered, nothing sent.
            await publish.rupture(
                notify.clinic_id, rupture(gone, severity=Severity.HIGH, rupture_id=f"r-late-{gone}")
            )
            await publish.note(notify.clinic_id, note(gone, sealed=True))
            await publish.acknowledgement(notify.clinic_id, acknowledgement(gone, f"r-hi-{gone}"))
            await eventually(lambda: dropped() - dropped_before == 3, within=20, what="3 late events dropped")

            # Work of the erased client found after the erasure (recorded in the very moment of it): the worker
            # and the escalation look before they send, and purge it instead.
            await leftover_delivery(notify, gone, kept)
            await eventually(purged, within=15, what="a leftover delivery of the erased client purged")
            await leftover_timer(notify, gone, kept)
            await eventually(
                purged, within=15, what="a leftover escalation timer of the erased client purged"
            )
            assert escalations(notify.clinic_id) == 0  # purged by the escalation itself, never escalated
            await asyncio.sleep(1.0)  # a few more worker rounds
            assert not await mentioning(notify, gone)
            assert dropped() - dropped_before == 3

        assert len(webhook.calls_for(gone)) == calls_for_gone
        assert not [call for call in webhook.attempts if gone in call.raw][calls_for_gone:]
        assert not [call for call in failing.attempts if gone in call.raw][2:]  # its 2 attempts before
        assert not [m for m in smtp.messages if gone in m.as_string()]
        assert not [(n, i) for n, i in await mentioning(notify, NOTE_TEXT)]  # no words, in the clear ...
        assert not await mentioning(notify, "aesgcm:")  # ... or sealed


async def leftover_delivery(notify: Notify, gone: str, kept: str) -> None:
    """A pending delivery of the erased client due now, written straight to MongoDB after the purge, like an
    intake that committed just after it."""
    deliveries = notify.db["notify_deliveries"]
    template = await deliveries.find_one({"client_id": kept, "rupture_id": f"r-hi-{kept}"})
    assert template is not None
    rupture_doc = {**template["rupture"], "client_id": gone, "rupture_id": f"r-race-{gone}"}
    await deliveries.insert_one(
        {
            **template,
            "_id": str(uuid.uuid4()),
            "client_id": gone,
            "rupture_id": f"r-race-{gone}",
            "rupture": rupture_doc,
            "status": "pending",
            "due_at": datetime.now(UTC),
            "attempts": 0,
            "claimed_by": None,
        }
    )


async def leftover_timer(notify: Notify, gone: str, kept: str) -> None:
    """An overdue escalation timer of the erased client's episode, written the same way."""
    template = await notify.db["notify_episodes"].find_one({"_id": f"{notify.clinic_id}:r-hi-{kept}"})
    assert template is not None
    rupture_doc = {**template["rupture"], "client_id": gone, "rupture_id": f"r-race-{gone}"}
    await notify.db["notify_episodes"].insert_one(
        {
            "_id": f"{notify.clinic_id}:r-race-{gone}",
            "clinic_id": notify.clinic_id,
            "rupture_id": f"r-race-{gone}",
            "therapist_id": "t-1",
            "client_id": gone,
            "rupture": rupture_doc,
            "escalate_at": datetime.now(UTC) - timedelta(minutes=1),
            "acknowledged_at": None,
        }
    )


async def test_a_restarted_notify_purges_again_harmlessly_and_still_drops_the_erased_clients_events(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    gone, kept = f"gone-{unique}", f"kept-{unique}"
    routing = {
        "therapists": [{"therapist_id": "t-1", "webhook_url": webhook.url}],
        "quiet_hours": quiet_hours_around_now(),
    }
    async with notify.running() as http:
        answer = await http.put("/v1/routing", json=routing, headers=notify.key(Scope.ADMIN))
        assert answer.status_code == 200, answer.text
        for client_id in (gone, kept):
            await publish.rupture(notify.clinic_id, rupture(client_id, severity=Severity.HIGH))
            await publish.rupture(notify.clinic_id, rupture(client_id, rupture_id=f"r-med-{client_id}"))
        await eventually(
            lambda: bool(webhook.calls_for(gone) and webhook.calls_for(kept)), what="both clients alerted"
        )

        async def pending() -> bool:
            return len(await notify.deliveries(status="pending")) == 2

        await eventually(pending, what="both clients' medium alerts pending")
        await erase(notify, gone)

        async def purged() -> bool:
            return not await mentioning(notify, gone)

        await eventually(purged, within=30, what="the erased client purged")

        async def relayed() -> bool:
            return await notify.db["notify_outbox"].count_documents({"published_at": None}) == 0

        await eventually(relayed, what="the outbox relayed")  # at rest: nothing left to change
    kept_at_rest = await snapshot(notify, kept)
    assert kept_at_rest

    # While notify is down: a late alert of the erased client, and what an older release left of them
    # (documents that name the client only in the rupture, or not at all).
    dropped_before = dropped()
    await publish.rupture(
        notify.clinic_id, rupture(gone, severity=Severity.HIGH, rupture_id=f"r-late-{gone}")
    )
    delivery_id = await older_release_leftovers(notify, gone)
    assert await mentioning(notify, gone)

    async with notify.running():
        await eventually(lambda: dropped() - dropped_before == 1, within=30, what="the late alert dropped")

        async def purged_again() -> bool:
            episode = await notify.db["notify_episodes"].find_one({"_id": f"{notify.clinic_id}:r-old-{gone}"})
            dead_letter = await notify.db["notify_dead_letters"].find_one({"_id": delivery_id})
            return episode is None and dead_letter is None and not await mentioning(notify, gone)

        await eventually(purged_again, within=30, what="the purge applied again at start")
        await asyncio.sleep(1.0)
        assert await snapshot(notify, kept) == kept_at_rest
    assert [call for call in webhook.calls if gone in call.raw] == webhook.calls_for(gone)
    assert len(webhook.calls_for(gone)) == 1  # the one alert sent before the erasure
    assert dropped() - dropped_before == 1


async def snapshot(notify: Notify, client_id: str) -> dict[str, list[Document]]:
    """Every document that names the client, by collection."""
    found: dict[str, list[Document]] = {}
    for name, document_id in sorted(await mentioning(notify, client_id), key=str):
        document = await notify.db[name].find_one({"_id": document_id})
        assert document is not None
        found.setdefault(name, []).append(document)
    return found


async def older_release_leftovers(notify: Notify, gone: str) -> str:
    """What a release before erasure left: an alert intent naming the client in its rupture only, its dead
    letter naming only the delivery, an episode acknowledged before its alert, naming no client at all, and a
    relayed event in the outbox. Returns the delivery's id."""
    delivery_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    old = rupture(gone, rupture_id=f"r-old-{gone}")
    await notify.db["notify_deliveries"].insert_one(
        {
            "_id": delivery_id,
            "kind": "alert",
            "clinic_id": notify.clinic_id,
            "event_id": str(uuid.uuid4()),
            "rupture_id": old.rupture_id,
            "severity": old.severity.value,
            "reason": "alert",
            "recipient": {"kind": "therapist", "recipient_id": "t-1", "channel": "webhook", "address": "x"},
            "rupture": old.model_dump(mode="json"),
            "status": "failed",
            "due_at": now,
            "attempts": 2,
            "created_at": now,
        }
    )
    await notify.db["notify_dead_letters"].insert_one(
        {
            "_id": delivery_id,
            "clinic_id": notify.clinic_id,
            "kind": "alert",
            "channel": "webhook",
            "error": "500",
        }
    )
    await notify.db["notify_episodes"].insert_one(
        {
            "_id": f"{notify.clinic_id}:r-old-{gone}",
            "clinic_id": notify.clinic_id,
            "rupture_id": f"r-old-{gone}",
            "acknowledged_at": now,
            "acknowledged_by": "t-1",
            "escalate_at": None,
        }
    )
    outbox_key = message_key(notify.clinic_id, gone)
    await notify.db["notify_outbox"].insert_one(
        {
            "_id": str(uuid.uuid4()),
            "order": ObjectId(),
            "topic": "notification.sent",
            "key": outbox_key,
            "value": b"{}",
            "published_at": now,  # relayed long ago: the relay never sends it again
        }
    )
    return delivery_id
