"""Importing 200 clients' histories through ``POST /v1/events:batch``, feedback and scoring both running on
real Kafka and MongoDB: each client's planted drop is announced once, and nothing else is.

Each history is stable (client SRS totals near 38.5, varying by less than a point, every session attended
and rated) with one steep drop of at least 6 points in the last 14 days, followed by at most one more session
back at the usual level. Session records and ratings are interleaved the way an import sends them: a
session's record then its rating, sometimes the rating first. Applied in the order they were produced, the
only state worth an alert is the drop; applied out of order (ratings after later session records), the
intermediate states would raise alerts (a missing-feedback episode) that the full history does not contain.
An alert is never retracted, so every announced rupture must be an episode of the final timeline, which the
pure domain computes from the final history.
"""

import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reliability.stream import split_total
from services.feedback.batch import MAX_ITEMS
from services.scoring import domain
from services.scoring.translate import fact_from
from shared import topics
from shared.contracts import FEEDBACK_SUBMITTED, SESSION_COMPLETED
from shared.messaging.subscription import InboundTopics
from shared.topics import ALL_TOPICS
from tests.integration.feedback.conftest import running_intake
from tests.integration.scoring.conftest import Scoring, eventually
from tests.support.kafka import records_matching, start_group_at_end
from tests.support.servers import Servers

pytestmark = pytest.mark.integration

CLIENTS = 200
POLL = 100  # records per scoring poll
SESSIONS = 8
SRS_ITEMS = ("relationship", "goals", "approach", "overall")
HISTORY = InboundTopics.of((SESSION_COMPLETED, FEEDBACK_SUBMITTED))


@dataclass(frozen=True)
class ImportedClient:
    client_id: str
    items: list[dict[str, Any]]  # the batch items of this client, in the order they are sent
    drop_session_id: str


def stable_history(client_id: str, now: datetime, rng: random.Random) -> ImportedClient:
    """``SESSIONS`` weekly sessions: stable near 38.5, one drop of 6.5-7 points in the last 14 days, then
    (for half the clients) one more session back at the usual level."""
    recovers = rng.random() < 0.5
    drop_index = SESSIONS - 2 if recovers else SESSIONS - 1
    last_at = now - timedelta(days=2, hours=rng.randrange(0, 24))
    totals = [round(rng.uniform(38.2, 38.9), 1) for _ in range(SESSIONS)]  # any two differ by < 1 point
    totals[drop_index] = round(totals[drop_index - 1] - rng.uniform(6.5, 7.0), 1)  # steep_drop: high
    items: list[dict[str, Any]] = []
    for n, total in enumerate(totals):
        at = (last_at - timedelta(weeks=SESSIONS - 1 - n)).isoformat()
        common = {"session_id": f"s{n}", "therapist_id": "t-1", "client_id": client_id}
        record = {
            "type": "session.completed",
            "data": {**common, "occurred_at": at, "attendance": "attended", "scheduled_minutes": 50},
        }
        rating = {
            "type": "feedback.submitted",
            "data": {
                **common,
                "session_at": at,
                "instrument": "srs",
                "respondent": "client",
                "items": dict(zip(SRS_ITEMS, split_total(total), strict=True)),
            },
        }
        items += [rating, record] if rng.random() < 0.25 else [record, rating]
    return ImportedClient(client_id, items, f"s{drop_index}")


def interleaved(clients: list[ImportedClient]) -> list[dict[str, Any]]:
    """Session by session across all clients, each client's own items in its order."""
    per_session = 2
    return [
        item
        for n in range(SESSIONS)
        for client in clients
        for item in client.items[n * per_session : (n + 1) * per_session]
    ]


def final_timelines(records: list[Any]) -> dict[str, domain.EpisodeTimeline]:
    """Each client's episode timeline over its final history, from the events as they are on Kafka."""
    histories: dict[str, domain.ClientHistory] = {}
    for record in records:
        event = HISTORY.decode(topics.CLIENT_EVENTS.name, record.value)
        client_id = event.data.client_id
        history = histories.get(client_id) or domain.ClientHistory(event.clinicid, client_id)
        histories[client_id] = history.with_fact(fact_from(event))
    return {client: domain.assess_client(h, domain.Thresholds()).timeline for client, h in histories.items()}


async def test_imported_recent_histories_announce_each_planted_drop_once_and_nothing_else(
    servers: Servers, scoring: Scoring, unique: str
) -> None:
    rng = random.Random(20261127)
    now = datetime.now(UTC)
    clients = [stable_history(f"c-{k:03d}-{unique}", now, rng) for k in range(CLIENTS)]
    items = interleaved(clients)
    assert len(items) == CLIENTS * SESSIONS * 2

    # Scoring starts once the whole import waits on Kafka, as after a restart, and takes it in small polls:
    # a poll then holds whatever partitions the broker returns first, so only the order Kafka keeps for one
    # client (one topic, one partition) keeps its events in the order they were produced.
    await start_group_at_end(scoring.bootstrap, scoring.settings.group_id, [t.name for t in ALL_TOPICS])
    scoring.started = True
    scoring.settings = scoring.settings.model_copy(update={"batch_max_records": POLL})
    async with running_intake(servers.kafka_bootstrap, servers.mongodb_uri, unique) as intake:
        clinic = intake.clinic_id
        event_ids: list[str] = []
        for start in range(0, len(items), MAX_ITEMS):
            answer = await intake.http.post(
                "/v1/events:batch", json={"events": items[start : start + MAX_ITEMS]}, headers=intake.auth
            )
            assert answer.status_code == 200, answer.text
            results = answer.json()["results"]
            assert {r["status"] for r in results} == {"accepted"}, results
            event_ids += [r["id"] for r in results]

    async with scoring.running():

        async def all_applied() -> bool:
            pipeline: list[dict[str, Any]] = [
                {"$match": {"clinic_id": clinic}},
                {"$project": {"n": {"$size": "$events"}}},
            ]
            counts = [int(doc["n"]) async for doc in await scoring.db["scoring_clients"].aggregate(pipeline)]
            return sum(counts) == len(items)

        await eventually(all_applied, within=120)
        # Every alert is staged in the transaction that applied its event; the relay publishes them.
        alerts = await records_matching(
            scoring.bootstrap,
            topics.RUPTURE_SUSPECTED.name,
            lambda r: json.loads(r.value)["clinicid"] == clinic,
            expected=CLIENTS,
            within=60,
            settle=3,
        )

    history = await records_matching(
        servers.kafka_bootstrap,
        topics.CLIENT_EVENTS.name,
        lambda r: json.loads(r.value)["clinicid"] == clinic,
        expected=len(items),
        within=30,
    )
    assert sorted(json.loads(r.value)["id"] for r in history) == sorted(event_ids)
    timelines = final_timelines(sorted(history, key=lambda r: (r.partition, r.offset)))
    announced = [json.loads(r.value)["data"] for r in alerts]
    assert Counter(a["client_id"] for a in announced) == Counter({c.client_id: 1 for c in clients})
    for client in clients:
        (alert,) = [a for a in announced if a["client_id"] == client.client_id]
        episodes = {e.episode_id: e for e in timelines[client.client_id].episodes}
        assert alert["rupture_id"] in episodes, (
            f"{client.client_id}: alert about an episode not in its history"
        )
        assert alert["session_id"] == client.drop_session_id, client.client_id
        assert episodes[alert["rupture_id"]].opening_session_id == client.drop_session_id, client.client_id
        assert alert["severity"] == "high", client.client_id
        assert alert.get("from_history", False) is False, client.client_id  # news: within the push horizon


# The same import with histories older than the push horizon (14 days) belongs here: recorded, shown and
# published as from_history, with no e-mail and no webhook.
