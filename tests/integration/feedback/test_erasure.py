"""An erased client in the feedback service (docs/privacy.md): the erasure on ``client.erased`` purges
everything feedback keeps of them, in every collection, and from then on nothing of theirs is taken: 410 at
every way in, their goal events on Kafka dropped and counted."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from bson.raw_bson import RawBSONDocument
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient

from services.feedback.erasure import GONE
from shared import topics
from shared.client_links import ClientPages
from shared.contracts import GOALS_AGREED, CloudEvent, Goal, GoalsAgreedV1, encode
from shared.privacy.erasure import erasure_event
from tests.integration.feedback.conftest import Intake
from tests.integration.feedback.payloads import feedback, goal_closing, goals, questionnaire_response, session
from tests.integration.feedback.test_goal_form import WITHIN
from tests.integration.feedback.test_links import SRS_ANSWERS, issue
from tests.support.kafka import records_matching
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
SESSION_AT = datetime(2026, 11, 20, 10, tzinfo=UTC)


async def produce(intake: Intake, topic: str, client_id: str, event: CloudEvent[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=intake.kafka_bootstrap)
    await producer.start()
    try:
        key = f"{intake.clinic_id}:{client_id}".encode()
        await producer.send_and_wait(topic, encode(event), key=key)
    finally:
        await producer.stop()


async def erase(intake: Intake, client_id: str) -> None:
    """Publish the client's erasure as scoring does, and wait until the intake has it."""
    event = erasure_event(intake.clinic_id, client_id, by="operator")
    await produce(intake, topics.CLIENT_ERASED.name, client_id, event)

    def known() -> bool:
        return bool(intake.app.state.privacy.erased.contains(intake.clinic_id, client_id))

    await eventually(known, within=WITHIN, what="the erasure reaching the intake")


async def holding(intake: Intake, text: str) -> list[str]:
    """The intake database's collections in which some document holds ``text``, read as raw bytes."""
    client: AsyncMongoClient[RawBSONDocument] = AsyncMongoClient(
        intake.settings.mongodb_uri, document_class=RawBSONDocument
    )
    try:
        db = client[intake.settings.mongodb_database]
        found = []
        for name in sorted(await db.list_collection_names()):
            async for document in db[name].find({}):
                if text.encode() in document.raw:
                    found.append(name)
                    break
        return found
    finally:
        await client.close()


async def ok(intake: Intake, path: str, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {**intake.auth, **({"Idempotency-Key": key} if key else {})}
    answer = await intake.http.post(path, json=body, headers=headers)
    assert answer.status_code in (200, 202), answer.text
    return answer.json()


def refused_as_erased(answer: Any) -> float:
    assert answer.status_code == 410, answer.text
    return 1.0


def counted(reason: str) -> float:
    found = REGISTRY.get_sample_value("alliance_feedback_rejected_total", {"reason": reason})
    return found or 0.0


def dropped() -> float:
    found = REGISTRY.get_sample_value("alliance_erased_client_events_dropped_total", {"service": "feedback"})
    return found or 0.0


async def history(intake: Intake, client_id: str, unique: str) -> None:
    """What feedback keeps of a client: Idempotency-Key records, a used link, goals, a data key."""
    await ok(intake, "/v1/goals", goals(client_id, f"Goal of {client_id}"), key=f"goals-{client_id}")
    await ok(intake, "/v1/feedback", feedback(client_id, comment="fine"), key=f"rating-{client_id}")
    link = await issue(intake, client_id)
    assert (await intake.http.post(link, data=SRS_ANSWERS)).status_code == 200

    async def goals_stored() -> bool:
        return "feedback_client_goals" in await holding(intake, client_id)

    await eventually(goals_stored, within=WITHIN, what="the goals stored")


async def test_an_erasure_purges_every_document_of_the_client_and_nothing_else(
    intake: Intake, unique: str
) -> None:
    erased, kept = f"c-erased-{unique}", f"c-kept-{unique}"
    await history(intake, erased, unique)
    await history(intake, kept, unique)
    both = {
        "events": [
            {"type": "session.completed", "data": session(erased)},
            {"type": "session.completed", "data": session(kept)},
        ]
    }
    before = await ok(intake, "/v1/events:batch", both, key=f"batch-{unique}")
    everything = ["client_keys", "feedback_client_goals", "feedback_idempotency", "feedback_links_used"]
    assert await holding(intake, erased) == everything

    await erase(intake, erased)

    async def purged() -> bool:
        return await holding(intake, erased) == []

    await eventually(purged, within=WITHIN, what="the client's documents purged")
    assert await holding(intake, kept) == everything
    await intake.app.state.purge.client(intake.clinic_id, erased)  # again, as at every start: no harm
    assert await holding(intake, erased) == []
    assert await holding(intake, kept) == everything

    # The batch naming both clients was forgotten with the erased one: sent again, it runs again, the kept
    # client's item with the id it had, the erased client's refused.
    again = await intake.http.post(
        "/v1/events:batch", json=both, headers={**intake.auth, "Idempotency-Key": f"batch-{unique}"}
    )
    assert again.status_code == 200, again.text
    [gone, stays] = again.json()["results"]
    assert (gone["status"], gone["errors"]) == ("rejected", [{"field": "data.client_id", "reason": GONE}])
    assert stays == before["results"][1]
    assert await holding(intake, erased) == []


async def test_nothing_of_an_erased_client_is_taken_any_more(intake: Intake, unique: str) -> None:
    client_id = f"c-{unique}"
    link = await issue(intake, client_id)  # issued before the erasure
    pages: ClientPages = intake.app.state.client_pages
    page, page_url = pages.issue(intake.clinic_id, client_id)
    answer_url = pages.answer_url(
        page, page_url, note_id="n-1", session_id="s-1", therapist_id="t-1", session_at=SESSION_AT
    )
    rate_url = pages.rating_url(page, page_url, session_id="s-1", therapist_id="t-1", session_at=SESSION_AT)
    note = {
        "note_id": "n-1",
        "session_id": "s-1",
        "therapist_id": "t-1",
        "client_id": client_id,
        "session_at": "2026-11-20T10:00:00+00:00",
    }
    await erase(intake, client_id)
    erased_before = counted("erased")

    writes = [
        ("/v1/sessions", session(client_id)),
        ("/v1/feedback", feedback(client_id, comment="late words")),
        ("/v1/notes", {**note, "text": "late note"}),
        ("/v1/goals", goals(client_id)),
        ("/v1/goal-closings", goal_closing(client_id)),
    ]
    refusals = 0.0
    for path, body in writes:
        for key in (None, f"{path.rsplit('/', 1)[1]}-{unique}"):  # with an Idempotency-Key or without
            headers = {**intake.auth, **({"Idempotency-Key": key} if key else {})}
            answer = await intake.http.post(path, json=body, headers=headers)
            refusals += refused_as_erased(answer)
            assert answer.json() == {"detail": GONE}
            assert "new pseudonym" in GONE

    fhir = await intake.http.post(
        "/v1/fhir/QuestionnaireResponse", json=questionnaire_response(client_id), headers=intake.auth
    )
    refusals += refused_as_erased(fhir)
    [issue_] = fhir.json()["issue"]
    assert (fhir.json()["resourceType"], issue_["code"], issue_["diagnostics"]) == (
        "OperationOutcome",
        "deleted",
        GONE,
    )
    new_link = await intake.http.post(
        "/v1/feedback-links",
        json={
            "client_id": client_id,
            "therapist_id": "t-1",
            "session_id": "s-9",
            "session_at": "2026-12-01T10:00:00+00:00",
        },
        headers=intake.auth,
    )
    refusals += refused_as_erased(new_link)
    assert new_link.json() == {"detail": GONE}

    # The client's own ways in: a plain page in their words.
    opened = await intake.http.get(link)
    assert opened.status_code == 410 and "no longer works" in opened.text and "<form" not in opened.text
    refusals += refused_as_erased(await intake.http.post(link, data=SRS_ANSWERS))
    answered = await intake.http.post(answer_url[answer_url.index("/c/answers/") :], data={"fit": "yes"})
    refusals += refused_as_erased(answered)
    assert "no longer works" in answered.text
    assert (await intake.http.get(rate_url[rate_url.index("/c/rate/") :])).status_code == 410

    assert counted("erased") == erased_before + refusals  # each refused write counted as "erased"
    late = await records_matching(
        intake.kafka_bootstrap,
        topics.CLIENT_EVENTS.name,
        lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
        expected=0,
        settle=0.5,
    )
    assert late == []
    assert await holding(intake, client_id) == []  # no claim, key or record left by the refusals

    # A batch answers each item on its own: the erased client's refused, another client's taken.
    batch = await ok(
        intake,
        "/v1/events:batch",
        {
            "events": [
                {"type": "feedback.submitted", "data": feedback(client_id)},
                {"type": "feedback.submitted", "data": feedback(f"other-{unique}")},
            ]
        },
    )
    assert [(r["status"], r["errors"]) for r in batch["results"]] == [
        ("rejected", [{"field": "data.client_id", "reason": GONE}]),
        ("accepted", []),
    ]


def agreement(clinic_id: str, client_id: str) -> CloudEvent[Any]:
    data = GoalsAgreedV1(
        client_id=client_id,
        therapist_id="t-1",
        session_id="s-1",
        session_at=SESSION_AT,
        goals=[Goal(goal_id="g-1", text=f"Words of {client_id}")],
        agreed_at=SESSION_AT,
    )
    return GOALS_AGREED.envelope(data, clinic_id=clinic_id, client_id=client_id, source="/ehr")


async def test_goal_events_of_an_erased_client_are_dropped_and_counted(intake: Intake, unique: str) -> None:
    erased, kept = f"c-erased-{unique}", f"c-kept-{unique}"
    await erase(intake, erased)
    before = dropped()

    # Produced straight to Kafka, past the intake: the erased client's goals, then another client's.
    await produce(intake, topics.CLIENT_EVENTS.name, erased, agreement(intake.clinic_id, erased))
    await produce(intake, topics.CLIENT_EVENTS.name, kept, agreement(intake.clinic_id, kept))

    async def kept_stored() -> bool:
        return "feedback_client_goals" in await holding(intake, kept)

    await eventually(kept_stored, within=WITHIN, what="the other client's goals stored")
    assert await holding(intake, erased) == []
    assert dropped() == before + 1
