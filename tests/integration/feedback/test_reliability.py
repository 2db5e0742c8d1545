"""Nothing half-accepted: Idempotency-Key replays, size limits and the per-key request budget."""

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from tests.integration.feedback.conftest import Intake, running_intake
from tests.integration.feedback.payloads import feedback, questionnaire_response, session
from tests.support.kafka import records_matching
from tests.support.servers import Servers

pytestmark = pytest.mark.integration


async def events_of_client(intake: Intake, topic: str, client_id: str, expected: int) -> list[str]:
    records = await records_matching(
        intake.kafka_bootstrap,
        topic,
        lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
        expected=expected,
        settle=1.0,
    )
    return [json.loads(r.value)["id"] for r in records]


async def test_a_retry_with_the_same_idempotency_key_replays_the_answer_and_makes_one_event(
    intake: Intake, unique: str
) -> None:
    client_id = f"c-{unique}"
    headers = {**intake.auth, "Idempotency-Key": f"retry-{unique}"}
    first = await intake.http.post("/v1/feedback", json=feedback(client_id), headers=headers)
    again = await intake.http.post("/v1/feedback", json=feedback(client_id), headers=headers)

    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    ids = await events_of_client(intake, "client.events", client_id, expected=1)
    assert ids == [first.json()["id"]]


async def test_concurrent_duplicates_make_one_event(intake: Intake, unique: str) -> None:
    client_id = f"c-{unique}"
    headers = {**intake.auth, "Idempotency-Key": f"race-{unique}"}
    answers = await asyncio.gather(
        *(intake.http.post("/v1/sessions", json=session(client_id), headers=headers) for _ in range(5))
    )
    codes = sorted(answer.status_code for answer in answers)
    assert set(codes) <= {202, 409} and 202 in codes, codes
    assert len({answer.json()["id"] for answer in answers if answer.status_code == 202}) == 1
    assert len(await events_of_client(intake, "client.events", client_id, expected=1)) == 1


async def test_an_idempotency_key_reused_for_another_body_is_refused(intake: Intake, unique: str) -> None:
    headers = {**intake.auth, "Idempotency-Key": f"reuse-{unique}"}
    assert (await intake.http.post("/v1/feedback", json=feedback("c-1"), headers=headers)).status_code == 202
    other = await intake.http.post("/v1/feedback", json=feedback("c-2"), headers=headers)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]


async def test_idempotency_keys_are_scoped_to_the_clinic(
    servers: Servers, intake: Intake, unique: str
) -> None:
    key = {"Idempotency-Key": f"shared-{unique}"}
    body = feedback(f"c-{unique}")
    mine = await intake.http.post("/v1/feedback", json=body, headers={**intake.auth, **key})
    async with running_intake(servers.kafka_bootstrap, servers.mongodb_uri, f"{unique}b") as other_clinic:
        theirs = await other_clinic.http.post("/v1/feedback", json=body, headers={**other_clinic.auth, **key})
    assert mine.status_code == theirs.status_code == 202
    assert mine.json()["id"] != theirs.json()["id"]  # clinic B never sees clinic A's answer
    assert "Idempotent-Replayed" not in theirs.headers


@pytest.mark.parametrize(
    "key", ["has space", "$where", "x" * 129, "tab\tkey"], ids=["space", "op", "long", "ctl"]
)
async def test_a_malformed_idempotency_key_gets_422(intake: Intake, key: str) -> None:
    answer = await intake.http.post(
        "/v1/feedback", json=feedback("c-1"), headers={**intake.auth, "Idempotency-Key": key}
    )
    assert answer.status_code == 422
    assert ["header", "Idempotency-Key"] in [error["loc"] for error in answer.json()["detail"]]


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/v1/feedback", 64 * 1024),
        ("/v1/sessions", 64 * 1024),
        ("/v1/feedback-links", 64 * 1024),
        ("/v1/fhir/QuestionnaireResponse", 64 * 1024),
        ("/v1/events:batch", 1024 * 1024),
    ],
)
async def test_a_body_over_the_limit_gets_413_before_parsing(intake: Intake, path: str, limit: int) -> None:
    oversized = b"{" + b" " * limit + b"}"  # valid JSON, so only the size can be the reason
    answer = await intake.http.post(
        path, content=oversized, headers={**intake.auth, "Content-Type": "application/json"}
    )
    assert answer.status_code == 413


async def test_a_chunked_body_over_the_limit_gets_413(intake: Intake) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(70):
            yield b" " * 1024

    answer = await intake.http.post(
        "/v1/feedback", content=chunks(), headers={**intake.auth, "Content-Type": "application/json"}
    )
    assert answer.status_code == 413


async def test_a_body_just_under_the_limit_is_parsed(intake: Intake, unique: str) -> None:
    body = json.dumps(feedback(f"c-{unique}")).encode()
    padded = body[:-1] + b" " * (64 * 1024 - len(body)) + b"}"
    answer = await intake.http.post(
        "/v1/feedback", content=padded, headers={**intake.auth, "Content-Type": "application/json"}
    )
    assert answer.status_code == 202, answer.text


async def test_the_request_budget_per_key_gives_429_with_retry_after(servers: Servers, unique: str) -> None:
    async with running_intake(
        servers.kafka_bootstrap, servers.mongodb_uri, unique, rate_limit="3/minute"
    ) as limited:
        codes = [
            (
                await limited.http.post("/v1/sessions", json=session(f"c-{unique}"), headers=limited.auth)
            ).status_code
            for _ in range(3)
        ]
        refused = await limited.http.post("/v1/sessions", json=session(f"c-{unique}"), headers=limited.auth)
    assert codes == [202, 202, 202]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


async def test_fhir_errors_for_size_are_operation_outcomes(intake: Intake, unique: str) -> None:
    body = questionnaire_response(f"c-{unique}", text={"div": "x" * 70_000})
    answer = await intake.http.post("/v1/fhir/QuestionnaireResponse", json=body, headers=intake.auth)
    assert answer.status_code == 413
    assert answer.json()["resourceType"] == "OperationOutcome"
