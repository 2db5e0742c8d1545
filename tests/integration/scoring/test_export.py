"""A client's export on the real Kafka and MongoDB: the JSON export agrees field by field with the read API and
holds the words in the clear, the notifications sent and the audit; the FHIR Bundle validates against HL7's R4
JSON schema; a read key, another clinic and an unknown client are refused, changing nothing."""

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from prometheus_client import REGISTRY

from services.scoring.export import NOTIFICATIONS
from shared.auth import Scope
from shared.contracts import (
    FEEDBACK_SUBMITTED,
    NOTIFICATION_SENT,
    CloudEvent,
    FeedbackSubmittedV1,
    FeedbackSubmittedV2,
    Instrument,
    NotificationSentV1,
    Respondent,
    Severity,
    encode,
)
from shared.privacy.erasure import erasure_event
from shared.privacy.plumbing import Privacy
from shared.topics import CLIENT_ERASED, CLIENT_EVENTS
from tests.integration.scoring.conftest import Scoring, applied_count, eventually
from tests.integration.scoring.streams import ClientStream, Publisher, session_at, srs_items
from tests.support.fhir_schema import fhir_problems
from tests.support.kafka import start_group_at_end

pytestmark = pytest.mark.integration

CLEAR_COMMENT = "private words that must never leave the database"  # ClientStream.srs's, v1, in the clear
SEALED_COMMENT = "I did not feel heard when we talked about my sister"
NOTE = "We talked it through in session 3; the client felt heard again."
EXPORT = "/v1/clients/{}/export"
ROUTE = "GET /v1/clients/{client_id}/export"


def bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


async def sealed_srs(scoring: Scoring, stream: ClientStream, n: int, total: str) -> CloudEvent[Any]:
    """A v2 rating whose comment the producer sealed with the client's data key, as the feedback service does."""
    event_id = f"{stream.client_id}-sealed-srs-{n}"
    comment = await Privacy.of(scoring.db).words.seal(
        stream.clinic_id, stream.client_id, event_id, SEALED_COMMENT
    )
    data = FeedbackSubmittedV2(
        session_id=f"s{n:02d}",
        therapist_id=stream.therapist_id,
        client_id=stream.client_id,
        session_at=session_at(n),
        instrument=Instrument.SRS,
        respondent=Respondent.CLIENT,
        items=srs_items(total),
        comment=comment,
        submitted_at=session_at(n) + timedelta(hours=1),
    )
    return stream.envelope(FEEDBACK_SUBMITTED, data, event_id)


def rating(
    stream: ClientStream, n: int, instrument: Instrument, respondent: Respondent, items: dict[str, float]
) -> Any:
    data = FeedbackSubmittedV1(
        session_id=f"s{n:02d}",
        therapist_id=stream.therapist_id,
        client_id=stream.client_id,
        session_at=session_at(n),
        instrument=instrument,
        respondent=respondent,
        items=items,
        submitted_at=session_at(n) + timedelta(hours=2),
    )
    return stream.envelope(
        FEEDBACK_SUBMITTED, data, f"{stream.client_id}-{instrument.value}-{respondent.value}-{n}"
    )


def notification(
    stream: ClientStream,
    rupture_id: str,
    delivery_id: str,
    kind: Literal["therapist", "supervisor"] = "therapist",
) -> CloudEvent[Any]:
    data = NotificationSentV1(
        delivery_id=delivery_id,
        rupture_id=rupture_id,
        therapist_id=stream.therapist_id,
        client_id=stream.client_id,
        severity=Severity.HIGH,
        reason="alert",
        channel="email",
        recipient_kind=kind,
        attempts=1,
        sent_at=datetime.now(UTC).replace(microsecond=654321),
    )
    return NOTIFICATION_SENT.envelope(
        data,
        clinic_id=stream.clinic_id,
        client_id=stream.client_id,
        source="/services/notify",
        event_id=delivery_id,
    )


async def publish(publisher: Publisher, topic: str, event: CloudEvent[Any], times: int = 1) -> None:
    for _ in range(times):
        await publisher.raw(topic, (event.subject or "").encode(), encode(event))


async def feed(
    scoring: Scoring, publisher: Publisher, stream: ClientStream, events: list[CloudEvent[Any]]
) -> None:
    """Publish each of the client's events twice (a redelivery) and wait until it is applied."""
    for event in events:
        before = await applied_count(scoring, stream.clinic_id, stream.client_id)
        await publish(publisher, CLIENT_EVENTS.name, event, times=2)

        async def applied(before: int = before) -> bool:
            return await applied_count(scoring, stream.clinic_id, stream.client_id) > before

        await eventually(applied)


def dropped() -> float:
    return (
        REGISTRY.get_sample_value("alliance_erased_client_events_dropped_total", {"service": "scoring"})
        or 0.0
    )


async def test_the_export_is_the_read_view_and_everything_behind_it_as_json_and_as_fhir(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    clinic, other = f"clinic-{unique}", f"other-{unique}"
    stream = ClientStream(clinic, f"c-{unique}")
    admin, reader = scoring.key_for(clinic, Scope.ADMIN), scoring.key_for(clinic, Scope.READ)
    other_admin = scoring.key_for(other, Scope.ADMIN)
    await start_group_at_end(
        scoring.bootstrap, f"{scoring.settings.group_id}.notifications", [NOTIFICATION_SENT.topic.name]
    )
    wai = {f"q{i}": float(3 + i % 3) for i in range(1, 13)}
    ors = {"individual": 5.0, "interpersonal": 6.5, "social": 4.0, "overall": 5.5}
    async with scoring.running() as http:
        await feed(
            scoring,
            publisher,
            stream,
            [
                stream.session(1),
                stream.srs(1, "38"),  # v1: its comment in the clear, sealed by scoring on storing
                stream.session(2),
                await sealed_srs(scoring, stream, 2, "29"),  # a steep drop: an episode opens
                rating(stream, 2, Instrument.ORS, Respondent.CLIENT, ors),
                rating(stream, 2, Instrument.WAI_SR, Respondent.THERAPIST, wai),
            ],
        )
        opened = await http.get(f"/v1/clients/{stream.client_id}/alliance", headers=bearer(reader))
        rupture_id = opened.json()["open_episode"]["rupture_id"]
        await publisher.event(stream.acknowledgement(rupture_id, "t-1", session_at(2) + timedelta(days=1)))

        async def acknowledged() -> bool:
            document = await scoring.client_doc(clinic, stream.client_id)
            return document is not None and len(document["acknowledgements"]) == 1

        await eventually(acknowledged)
        # The same delivery twice (a redelivery), then a second one: one document each.
        await publish(
            publisher, NOTIFICATION_SENT.topic.name, notification(stream, rupture_id, f"d1-{unique}"), 2
        )
        await publish(
            publisher,
            NOTIFICATION_SENT.topic.name,
            notification(stream, rupture_id, f"d2-{unique}", "supervisor"),
        )

        async def notified() -> bool:
            return await scoring.db[NOTIFICATIONS].count_documents({"clinic_id": clinic}) == 2

        await eventually(notified)
        resolved = await http.post(
            f"/v1/ruptures/{rupture_id}/resolve",
            json={"note": NOTE, "resolved_by": "t-1"},
            headers=bearer(admin),
        )
        assert resolved.status_code == 200, resolved.text
        alliance = await http.get(f"/v1/clients/{stream.client_id}/alliance", headers=bearer(reader))

        audit_before = await scoring.db["scoring_audit"].count_documents({})
        clients_before = await scoring.client_doc(clinic, stream.client_id)
        refused = await http.get(EXPORT.format(stream.client_id), headers=bearer(reader))
        assert (
            await scoring.db["scoring_audit"].count_documents({}) == audit_before
        )  # refused before any read
        foreign = await http.get(EXPORT.format(stream.client_id), headers=bearer(other_admin))
        unknown = await http.get(EXPORT.format(f"nobody-{unique}"), headers=bearer(admin))

        exported = await http.get(EXPORT.format(stream.client_id), headers=bearer(admin))
        fhir = await http.get(
            EXPORT.format(stream.client_id), params={"format": "fhir"}, headers=bearer(admin)
        )
        accepted = await http.get(
            EXPORT.format(stream.client_id), headers={**bearer(admin), "Accept": "application/fhir+json"}
        )
        assert (
            await scoring.client_doc(clinic, stream.client_id) == clients_before
        )  # an export changes no state

    assert (refused.status_code, foreign.status_code, unknown.status_code) == (403, 404, 404)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "application/json"
    body = exported.json()

    # The read API's view, field by field.
    assert alliance.status_code == 200
    assert body["alliance"] == alliance.json()
    assert body["alliance"]["past_episodes"][0]["resolution"]["note"] == NOTE
    assert (body["clinic_id"], body["client_id"]) == (clinic, stream.client_id)

    # Every inbound event, the words opened; none left sealed anywhere.
    assert "aesgcm:" not in exported.text and "clear:" not in exported.text
    ratings = [e for e in body["events"] if e["type"].startswith("org.alliance.feedback.submitted.")]
    assert [(r["data"]["instrument"], r["data"]["respondent"]) for r in ratings] == [
        ("srs", "client"),
        ("srs", "client"),
        ("ors", "client"),
        ("wai_sr", "therapist"),
    ]
    assert [r["data"]["comment"] for r in ratings] == [CLEAR_COMMENT, SEALED_COMMENT, None, None]
    assert ratings[0]["data"]["items"] == srs_items("38") and ratings[3]["data"]["items"] == wai
    assert [e["data"]["session_id"] for e in body["events"] if ".session.completed." in e["type"]] == [
        "s01",
        "s02",
    ]
    stored = await scoring.client_doc(clinic, stream.client_id)
    assert stored is not None
    assert all(
        e["data"]["comment"] is None or e["data"]["comment"].startswith("aesgcm:")
        for e in stored["events"]
        if ".feedback.submitted." in e["type"]
    )  # at rest they stay sealed
    assert stored["resolutions"][0]["note"].startswith("aesgcm:")

    # The clinicians' actions, the notifications and the audit.
    [ack] = body["acknowledgements"]
    assert (ack["rupture_id"], ack["acknowledged_by"]) == (rupture_id, "t-1")
    [resolution] = body["resolutions"]
    assert (resolution["rupture_id"], resolution["resolved_by"], resolution["note"]) == (
        rupture_id,
        "t-1",
        NOTE,
    )
    assert [(n["delivery_id"], n["recipient_kind"], n["channel"]) for n in body["notifications"]] == [
        (f"d1-{unique}", "therapist", "email"),
        (f"d2-{unique}", "supervisor", "email"),
    ]
    assert all(
        set(n) == {*NotificationSentV1.model_fields} - {"client_id"} | {"event_id"}
        for n in body["notifications"]
    )
    assert [(a["route"], a["found"]) for a in body["audit"]] == [
        ("GET /v1/clients/{client_id}/alliance", True),
        ("POST /v1/ruptures/{rupture_id}/resolve", True),
        ("GET /v1/clients/{client_id}/alliance", True),
    ]
    assert all(set(a) == {"at", "route", "key_id", "actor", "found"} and a["key_id"] for a in body["audit"])

    # FHIR: one response per rating, one observation per total (all four have one), valid R4.
    for answer in (fhir, accepted):
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/fhir+json"
        bundle = answer.json()
        assert fhir_problems(bundle) == []
        kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
        assert (bundle["type"], kinds.count("QuestionnaireResponse"), kinds.count("Observation")) == (
            "collection",
            4,
            4,
        )
        responses = [
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"
        ]
        comments = [
            i["answer"][0]["valueString"] for r in responses for i in r["item"] if i["linkId"] == "comment"
        ]
        assert comments == [CLEAR_COMMENT, SEALED_COMMENT]
        assert [
            o["resource"]["valueQuantity"]["value"]
            for o in bundle["entry"]
            if "valueQuantity" in o["resource"]
        ] == [
            38.0,
            29.0,
            21.0,
            sum(wai.values()),
        ]
    assert fhir.json()["entry"] == accepted.json()["entry"]  # the same history, the same entries

    # Each export is audited; the refused ones as the alliance route does (404: found false; 403: nothing).
    audit = await scoring.db["scoring_audit"].find({"route": ROUTE}, {"_id": 0}).sort("at", 1).to_list()
    assert [(a["clinic_id"], a["client_ids"], a["found"]) for a in audit] == [
        (other, [stream.client_id], False),
        (clinic, [f"nobody-{unique}"], False),
        (clinic, [stream.client_id], True),
        (clinic, [stream.client_id], True),
        (clinic, [stream.client_id], True),
    ]
    assert fhir_problems({**fhir.json(), "type": "export"})  # the check is not vacuous


async def test_an_erased_clients_late_notifications_are_dropped(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    clinic = f"clinic-{unique}"
    erased, kept = ClientStream(clinic, f"gone-{unique}"), ClientStream(clinic, f"kept-{unique}")
    await start_group_at_end(
        scoring.bootstrap, f"{scoring.settings.group_id}.notifications", [NOTIFICATION_SENT.topic.name]
    )
    async with scoring.running():
        erasure = erasure_event(clinic, erased.client_id, "operator")
        await publish(publisher, CLIENT_ERASED.name, erasure)

        async def recorded() -> bool:
            return await scoring.db["scoring_erasures"].count_documents({"clinic_id": clinic}) == 1

        await eventually(recorded)
        before = dropped()
        await publish(publisher, NOTIFICATION_SENT.topic.name, notification(erased, "r-1", f"late-{unique}"))
        await publish(publisher, NOTIFICATION_SENT.topic.name, notification(kept, "r-2", f"kept-{unique}"))

        async def stored() -> bool:
            return await scoring.db[NOTIFICATIONS].count_documents({"clinic_id": clinic}) >= 1

        await eventually(stored)

        async def counted() -> bool:
            return dropped() == before + 1

        await eventually(counted)
    documents = await scoring.db[NOTIFICATIONS].find({"clinic_id": clinic}).to_list()
    assert [d["client_id"] for d in documents] == [kept.client_id]
