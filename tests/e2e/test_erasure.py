"""A client's data from intake to erasure, through the three running services (docs/privacy.md).

Two clients write comments, a note and goals; one is erased. Then every Kafka topic and every MongoDB
collection is read as raw bytes: neither client's words are readable anywhere (they are sealed), the erased
client's pseudonym is in no collection, the other client's data still opens, and a replay into a fresh
database does not bring the erased client back.
"""

import asyncio
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from bson.raw_bson import RawBSONDocument
from pymongo import AsyncMongoClient

from services.scoring.replay import replay
from services.scoring.settings import ScoringSettings
from shared.messaging.reading import read_to_end
from tests.e2e.conftest import Platform
from tests.support.servers import Servers

pytestmark = pytest.mark.e2e
SESSION_AT = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat()


def words_of(client_id: str) -> dict[str, str]:
    """Words only this client wrote: found anywhere in clear, they leaked."""
    return {
        "comment": f"my therapist kept checking the clock {client_id} zq",
        "note": f"Next: the evening check-in for {client_id} zq",
        "goal": f"Sleep through the night, {client_id} zq",
    }


async def write_history(http: httpx.AsyncClient, client_id: str) -> None:
    words = words_of(client_id)
    common = {"therapist_id": "t-1", "client_id": client_id, "session_at": SESSION_AT}
    answers = [
        await http.post(
            "/v1/feedback",
            json={
                **common,
                "session_id": f"s-{client_id}",
                "instrument": "srs",
                "respondent": "client",
                "items": {"relationship": 7.5, "goals": 7.5, "approach": 7.5, "overall": 7.5},
                "comment": words["comment"],
            },
        ),
        await http.post(
            "/v1/notes",
            json={
                **common,
                "session_id": f"s-{client_id}",
                "note_id": f"n-{client_id}",
                "text": words["note"],
            },
        ),
        await http.post(
            "/v1/goals",
            json={
                **common,
                "session_id": f"s-{client_id}",
                "goals": [{"goal_id": "g-1", "text": words["goal"]}],
            },
        ),
    ]
    for answer in answers:
        assert answer.status_code == 202, answer.text


async def eventually(check: Callable[[], Any], within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within:.0f} s")
        await asyncio.sleep(0.2)


async def mongo_raw(servers: Servers, database: str) -> dict[str, list[bytes]]:
    """Every document of every collection of ``database``, as its BSON bytes."""
    client: AsyncMongoClient[RawBSONDocument] = AsyncMongoClient(
        servers.mongodb_uri, document_class=RawBSONDocument
    )
    try:
        db = client.get_database(database)
        return {
            name: [bytes(document.raw) async for document in db[name].find()]
            for name in await db.list_collection_names()
        }
    finally:
        await client.close()


async def kafka_raw(servers: Servers) -> list[bytes]:
    """Every record's key, value and headers on every topic of the broker (internal ones aside)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        topics = [name for name in await admin.list_topics() if not name.startswith("__")]
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    ]
    raw: list[bytes] = []

    def keep(record: Any) -> None:
        raw.append(b"".join([record.key or b"", record.value or b"", *(v for _, v in record.headers)]))

    await read_to_end(servers.kafka_bootstrap, partitions, keep, within=120)
    return raw


def holding(documents: dict[str, list[bytes]], needle: str) -> list[str]:
    return sorted(name for name, raws in documents.items() if any(needle.encode() in raw for raw in raws))


async def test_an_erased_client_is_readable_nowhere_and_stays_erased(
    platform: Platform, servers: Servers, unique: str
) -> None:
    erased, kept = f"c-erased-{unique}", f"c-kept-{unique}"
    scoring = platform.url("scoring")
    async with httpx.AsyncClient(base_url=platform.feedback_url, headers=platform.auth) as http:
        await write_history(http, erased)
        await write_history(http, kept)
        # A signed link for the erased client: feedback keeps nothing of it after the erasure either.
        link = await http.post(
            "/v1/feedback-links",
            json={
                "client_id": erased,
                "therapist_id": "t-1",
                "session_id": f"s2-{erased}",
                "session_at": SESSION_AT,
                "instrument": "srs",
            },
        )
        assert link.status_code == 201, link.text
    async with httpx.AsyncClient(base_url=scoring, headers=platform.auth) as http:

        async def both_known() -> bool:
            for client_id in (erased, kept):
                answer = await http.get(f"/v1/clients/{client_id}/alliance")
                if answer.status_code != 200 or not answer.json()["goals"] or not answer.json()["notes"]:
                    return False
            return True

        await eventually(both_known, 30, "both clients' histories reaching scoring")

        # Both alerted: notify holds deliveries of both.
        async def both_alerted() -> bool:
            return all(platform.webhook.calls_for(client_id) for client_id in (erased, kept))

        await eventually(both_alerted, 30, "an alert about each client")
        before = await http.get(f"/v1/clients/{kept}/alliance")

        answer = await http.request(
            "DELETE", f"/v1/clients/{erased}", json={"reason": "the client asked (Art. 17)"}
        )
        assert answer.status_code == 200, answer.text
        record = answer.json()
        assert erased not in answer.text and len(record["client_hash"]) == 64

        async def purged() -> bool:
            return not holding(await mongo_raw(servers, platform.database), erased)

        await eventually(purged, 30, "every service purging the erased client")

        # The erased client is gone from the read API; the other is exactly as before and its words open.
        assert (await http.get(f"/v1/clients/{erased}/alliance")).status_code == 404
        after = await http.get(f"/v1/clients/{kept}/alliance")
        assert after.json() == before.json()
        assert after.json()["notes"][0]["text"] == words_of(kept)["note"]
        assert [goal["text"] for goal in after.json()["goals"]] == [words_of(kept)["goal"]]

    documents = await mongo_raw(servers, platform.database)
    records = [raw for raw in documents["scoring_erasures"] if record["client_hash"].encode() in raw]
    assert len(records) == 1
    for client_id in (erased, kept):
        for words in words_of(client_id).values():
            assert holding(documents, words) == [], f"{words!r} readable in MongoDB"
    assert holding(documents, erased) == []
    assert holding(documents, kept), "the kept client's documents must still be there"

    kafka = await kafka_raw(servers)
    for client_id in (erased, kept):
        for words in words_of(client_id).values():
            assert not any(words.encode() in raw for raw in kafka), f"{words!r} readable in Kafka"
    # Kafka keeps the pseudonymous ratings until the topics' retention (docs/privacy.md).
    assert any(erased.encode() in raw for raw in kafka)

    # A late rating of the erased client is refused at intake; one produced to Kafka anyway is dropped.
    async with httpx.AsyncClient(base_url=platform.feedback_url, headers=platform.auth) as http:
        late = await http.post(
            "/v1/feedback",
            json={
                "therapist_id": "t-1",
                "client_id": erased,
                "session_at": SESSION_AT,
                "session_id": f"s3-{erased}",
                "instrument": "srs",
                "respondent": "client",
                "items": {"relationship": 9, "goals": 9, "approach": 9, "overall": 9},
            },
        )
        assert late.status_code == 410, late.text

    # A replay into a fresh database skips the erased client and keeps the other.
    fresh = f"{platform.database}_replay"
    settings = ScoringSettings(
        kafka_bootstrap_servers=servers.kafka_bootstrap, mongodb_uri=servers.mongodb_uri
    )
    rebuild = await replay(settings, fresh, settings_from=platform.database, out=io.StringIO())
    assert rebuild.erased_skipped > 0
    rebuilt = await mongo_raw(servers, fresh)
    assert holding(rebuilt, erased) == []
    assert holding(rebuilt, kept) == ["client_keys", "scoring_clients"]
    assert len(rebuilt["scoring_erasures"]) >= 1
