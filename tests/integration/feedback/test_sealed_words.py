"""A person's words leave the intake sealed (docs/privacy.md): through every way in, the records on Kafka hold
no readable word, yet each opens with the client's data key; a retried request is the very same record; the
goals feedback keeps are sealed and only the form opens them."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from bson import BSON
from pymongo import AsyncMongoClient

import services.feedback.api
import services.feedback.links.form
from services.feedback.event_store import EventStoreUnavailable, Publication
from services.feedback.goals import COLLECTION as GOALS_COLLECTION
from services.feedback.goals.state import AgreedGoal, Agreement, ClientGoals, SessionRef
from services.feedback.goals.store import to_document
from shared import topics
from shared.contracts import GOALS_AGREED, Goal, GoalsAgreedV1, encode
from tests.integration.feedback.conftest import Intake, intake_settings, opened, running_intake
from tests.integration.feedback.payloads import feedback, goals, questionnaire_response
from tests.integration.feedback.test_goal_form import WITHIN, form_showing, shown
from tests.integration.feedback.test_links import SRS_ANSWERS, issue
from tests.support.kafka import records_matching
from tests.support.servers import Servers
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
SESSION_AT = datetime(2026, 11, 20, 10, tzinfo=UTC)


async def records_of(
    intake: Intake, client_id: str, expected: int, settle: float = 0.5
) -> list[ConsumerRecord[bytes, bytes]]:
    found = await records_matching(
        intake.kafka_bootstrap,
        topics.CLIENT_EVENTS.name,
        lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
        expected=expected,
        settle=settle,
    )
    return sorted(found, key=lambda r: r.offset)


def words_at(document: dict[str, Any]) -> list[str]:
    """The values of the words' fields of an event (comment, text, goals[].text)."""
    data = document["data"]
    found = [data[name] for name in ("comment", "text") if data.get(name) is not None]
    return found + [goal["text"] for goal in data.get("goals", [])]


async def test_every_way_in_publishes_the_words_sealed_in_the_latest_version(
    intake: Intake, unique: str
) -> None:
    client_id = f"c-{unique}"
    words = {
        "rest comment": f"the clock kept ticking {unique}",
        "note": f"Next: the evening check-in {unique}",
        "goal": f"Sleep through the night {unique}",
        "batch answer": f"only the first step fits {unique}",
        "fhir comment": f"felt rushed at the end {unique}",
        "form comment": f"thank you for listening {unique}",
    }
    note = {
        "note_id": "n-1",
        "session_id": "s-1",
        "therapist_id": "t-1",
        "client_id": client_id,
        "session_at": "2026-11-20T10:00:00+00:00",
    }
    fhir = questionnaire_response(client_id)
    fhir["item"].append({"linkId": "comment", "answer": [{"valueString": words["fhir comment"]}]})
    sent = [
        ("/v1/feedback", feedback(client_id, comment=words["rest comment"])),
        ("/v1/notes", {**note, "text": words["note"]}),
        ("/v1/goals", goals(client_id, words["goal"])),
        (
            "/v1/events:batch",
            {
                "events": [
                    {
                        "type": "note.answered",
                        "data": {**note, "fit": "partly", "comment": words["batch answer"]},
                    }
                ]
            },
        ),
        ("/v1/fhir/QuestionnaireResponse", fhir),
    ]
    for path, body in sent:
        answer = await intake.http.post(path, json=body, headers=intake.auth)
        assert answer.status_code in (200, 202), answer.text
    link = await issue(intake, client_id, session_id="s-2")
    thanks = await intake.http.post(link, data={**SRS_ANSWERS, "comment": words["form comment"]})
    assert thanks.status_code == 200, thanks.text

    records = await records_of(intake, client_id, expected=6)
    assert len(records) == 6
    for record in records:  # the raw bytes, as anything reading the topic sees them
        for text in words.values():
            assert text.encode() not in record.value, f"{text!r} readable on Kafka"
    documents = [json.loads(record.value) for record in records]
    assert [document["type"] for document in documents] == [
        "org.alliance.feedback.submitted.v2",
        "org.alliance.note.shared.v2",
        "org.alliance.goals.agreed.v2",
        "org.alliance.note.answered.v2",
        "org.alliance.feedback.submitted.v2",
        "org.alliance.feedback.submitted.v2",
    ]
    sealed = [words_at(document) for document in documents]
    assert all(value.startswith("aesgcm:") for values in sealed for value in values)
    readable = await opened(intake.settings, intake.clinic_id, client_id, sealed)
    assert readable == [[text] for text in words.values()]


def lose_the_first_acknowledgement(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    """Replace ``module.<name>`` (``publish_one`` or ``publish_all``) by one that really publishes, but whose
    first call then fails as a lost acknowledgement does: the caller answers 503 although Kafka has the event."""
    real, calls = getattr(module, name), []

    async def ack_lost_once(broker: Any, *publications: Any) -> Any:
        calls.append(1)
        result = await real(broker, *publications)
        if len(calls) > 1:
            return result
        if name == "publish_one":
            raise EventStoreUnavailable
        sent: list[Publication] = publications[0]
        return [False] * len(sent)

    monkeypatch.setattr(module, name, ack_lost_once)
    return calls


async def test_a_retry_after_a_lost_acknowledgement_is_the_very_same_record(
    intake: Intake, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kafka stored the event, but the answer was 503: the retry with the same Idempotency-Key publishes it
    again, byte for byte (id, moment set by the server, sealed comment), so every consumer drops the copy."""
    client_id = f"c-{unique}"
    lose_the_first_acknowledgement(monkeypatch, services.feedback.api, "publish_one")
    body = feedback(client_id, comment=f"I felt heard {unique}")  # submitted_at left to the server
    headers = {**intake.auth, "Idempotency-Key": f"retry-{unique}"}

    first = await intake.http.post("/v1/feedback", json=body, headers=headers)
    assert first.status_code == 503, first.text
    retried = await intake.http.post("/v1/feedback", json=body, headers=headers)
    assert retried.status_code == 202, retried.text

    stored, again = await records_of(intake, client_id, expected=2)
    assert json.loads(stored.value)["id"] == retried.json()["id"]
    assert again.value == stored.value
    assert f"I felt heard {unique}".encode() not in stored.value


async def test_a_form_sent_again_after_a_lost_acknowledgement_is_the_very_same_record(
    intake: Intake, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id = f"c-{unique}"
    lose_the_first_acknowledgement(monkeypatch, services.feedback.links.form, "publish_all")
    link = await issue(intake, client_id)

    first = await intake.http.post(link, data=SRS_ANSWERS)
    assert first.status_code == 503, first.text
    again = await intake.http.post(link, data=SRS_ANSWERS)
    assert again.status_code == 200, again.text

    stored, resent = await records_of(intake, client_id, expected=2)
    assert resent.value == stored.value
    assert b"Good." not in stored.value


async def stored_goals(intake: Intake, client_id: str) -> bytes:
    """The raw BSON of the client's document in feedback's goals store (empty when there is none)."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(intake.settings.mongodb_uri)
    try:
        collection = client[intake.settings.mongodb_database][GOALS_COLLECTION]
        found = await collection.find_one({"_id": f"{intake.clinic_id}:{client_id}"})
    finally:
        await client.close()
    return bytes(BSON.encode(found)) if found else b""


async def test_the_goals_store_holds_them_sealed_and_the_form_shows_them_to_the_client(
    intake: Intake, unique: str
) -> None:
    client_id = f"c-{unique}"
    texts = (f"Walk to work twice a week {unique}", f"Call my sister <on Sundays> {unique}")
    answer = await intake.http.post("/v1/goals", json=goals(client_id, *texts), headers=intake.auth)
    assert answer.status_code == 202, answer.text
    path = await issue(intake, client_id, instrument="gbo")

    page = await form_showing(intake.http, path, *texts)  # opened for the client, escaped
    assert all(f">{shown(text)}<output" in page for text in texts)
    document = await stored_goals(intake, client_id)
    assert document and b"aesgcm:" in document
    for text in texts:
        assert text.encode() not in document, f"{text!r} readable in {GOALS_COLLECTION}"


async def test_goals_produced_straight_to_kafka_in_the_clear_are_stored_sealed(
    intake: Intake, unique: str
) -> None:
    """A version 1 goals.agreed (words in the clear) from a system producing to Kafka itself: feedback seals the
    words before it stores them."""
    client_id = f"c-{unique}"
    text = f"Cook a proper dinner on Fridays {unique}"
    data = GoalsAgreedV1(
        client_id=client_id,
        therapist_id="t-1",
        session_id="s-1",
        session_at=SESSION_AT,
        goals=[Goal(goal_id="g-1", text=text)],
        agreed_at=SESSION_AT,
    )
    event = GOALS_AGREED.envelope(data, clinic_id=intake.clinic_id, client_id=client_id, source="/ehr")
    assert event.type == "org.alliance.goals.agreed.v1" and text.encode() in encode(event)
    producer = AIOKafkaProducer(bootstrap_servers=intake.kafka_bootstrap)
    await producer.start()
    try:
        key = f"{intake.clinic_id}:{client_id}".encode()
        await producer.send_and_wait(topics.CLIENT_EVENTS.name, encode(event), key=key)
    finally:
        await producer.stop()

    async def stored() -> bool:
        return bool(await stored_goals(intake, client_id))

    await eventually(stored, within=WITHIN, what="the goals stored")
    assert text.encode() not in await stored_goals(intake, client_id)
    await form_showing(intake.http, await issue(intake, client_id, instrument="gbo"), text)


async def test_goal_texts_an_earlier_version_stored_in_the_clear_are_sealed_at_start(
    servers: Servers, unique: str
) -> None:
    client_id, clinic_id = f"c-{unique}", f"clinic-{unique}"
    text = f"Take the stairs every day {unique}"
    settings = intake_settings(servers.kafka_bootstrap, servers.mongodb_uri, unique)
    agreement = Agreement("e-1", SessionRef.of(SESSION_AT, "s-1"), SESSION_AT, (AgreedGoal("g-1", text),))
    in_clear = {
        "_id": f"{clinic_id}:{client_id}",
        **to_document(clinic_id, client_id, ClientGoals(agreements=(agreement,))),
        "version": 3,
    }
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_uri)
    try:
        collection = client[settings.mongodb_database][GOALS_COLLECTION]
        await collection.insert_one(in_clear)
        async with running_intake(servers.kafka_bootstrap, servers.mongodb_uri, unique) as intake:
            document = await collection.find_one({"_id": f"{clinic_id}:{client_id}"})
            assert document is not None and document["version"] == 4
            assert text.encode() not in bytes(BSON.encode(document))
            [goal] = document["active"]
            assert await opened(settings, clinic_id, client_id, goal["text"]) == text
            await form_showing(intake.http, await issue(intake, client_id, instrument="gbo"), text)
    finally:
        await client.close()
