"""A client's session records and ratings land on ``client.events`` keyed ``clinic:client``, on one partition,
in the order the intake accepted them: request after request, and within a batch in the order of its items."""

import json
from typing import Any

import pytest
from aiokafka import ConsumerRecord

from services.feedback.batch import MAX_ITEMS
from shared import topics
from tests.integration.feedback.conftest import Intake
from tests.integration.feedback.payloads import feedback, session
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration


async def on_client_events(intake: Intake, ids: list[str]) -> list[ConsumerRecord[bytes, bytes]]:
    wanted = set(ids)
    return await records_matching(
        intake.kafka_bootstrap,
        topics.CLIENT_EVENTS.name,
        lambda r: json.loads(r.value)["id"] in wanted,
        expected=len(ids),
        settle=0.5,
    )


def in_partition_order(records: list[ConsumerRecord[bytes, bytes]]) -> list[str]:
    """Event ids in the order Kafka keeps them: by partition, then offset (records_matching reads partitions
    in whatever order the broker answers)."""
    return [json.loads(r.value)["id"] for r in sorted(records, key=lambda r: (r.partition, r.offset))]


async def test_single_requests_of_one_client_are_on_client_events_in_the_order_accepted(
    intake: Intake, unique: str
) -> None:
    client_id = f"c-{unique}"
    requests = [
        ("/v1/feedback", feedback(client_id, session_id="s-1")),  # the rating before its session record
        ("/v1/sessions", session(client_id, session_id="s-1")),
        ("/v1/sessions", session(client_id, session_id="s-2", occurred_at="2026-11-27T10:00:00+00:00")),
        ("/v1/feedback", feedback(client_id, session_id="s-2", session_at="2026-11-27T10:00:00+00:00")),
    ]
    ids = []
    for path, body in requests:
        answer = await intake.http.post(path, json=body, headers=intake.auth)
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])

    records = await on_client_events(intake, ids)

    assert len(records) == len(ids)
    assert len({r.partition for r in records}) == 1
    assert {r.key for r in records} == {f"{intake.clinic_id}:{client_id}".encode()}
    assert in_partition_order(records) == ids
    assert [json.loads(r.value)["type"] for r in sorted(records, key=lambda r: r.offset)] == [
        "org.alliance.feedback.submitted.v2",
        "org.alliance.session.completed.v1",
        "org.alliance.session.completed.v1",
        "org.alliance.feedback.submitted.v2",
    ]


def client_history(client_id: str, sessions: int, rating_first: set[int]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for n in range(sessions):
        at = f"2026-{1 + n // 28:02d}-{1 + n % 28:02d}T10:00:00+00:00"
        record = {
            "type": "session.completed",
            "data": session(client_id, session_id=f"s-{n}", occurred_at=at),
        }
        rating = {
            "type": "feedback.submitted",
            "data": feedback(client_id, session_id=f"s-{n}", session_at=at),
        }
        items += [rating, record] if n in rating_first else [record, rating]
    return items


async def test_a_batch_puts_each_clients_events_on_client_events_in_the_order_of_its_items(
    intake: Intake, unique: str
) -> None:
    # Five clients' histories interleaved item by item, a full batch: what one client sent in the batch must
    # come out on its partition in exactly that order, whatever the other clients and the kinds.
    clients = [f"c-{unique}-{k}" for k in range(5)]
    per_client = MAX_ITEMS // (2 * len(clients))
    histories = [client_history(c, per_client, rating_first={1, 7, per_client - 1}) for c in clients]
    events = [item for round_ in zip(*histories, strict=True) for item in round_]
    assert len(events) == MAX_ITEMS

    answer = await intake.http.post("/v1/events:batch", json={"events": events}, headers=intake.auth)

    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["accepted"] * len(events)
    ids = [r["id"] for r in results]
    records = await on_client_events(intake, ids)
    assert len(records) == len(events)
    for client_id in clients:
        key = f"{intake.clinic_id}:{client_id}".encode()
        mine = [r for r in records if r.key == key]
        sent = [ids[i] for i, item in enumerate(events) if item["data"]["client_id"] == client_id]
        assert len({r.partition for r in mine}) == 1, client_id
        assert in_partition_order(mine) == sent, client_id
        assert {json.loads(r.value)["subject"] for r in mine} == {key.decode()}
