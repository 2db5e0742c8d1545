"""Importing 200 clients' histories through ``POST /v1/events:batch``, feedback and scoring both running on
real Kafka and MongoDB: each client's planted drop is announced once, and nothing else is.

Each history is stable (client SRS totals near 38.5, varying by less than a point, every session attended
and rated) with one steep drop of at least 6 points near its end, followed by at most one more session back
at the usual level. Session records and ratings are interleaved the way an import sends them: a session's
record then its rating, sometimes the rating first. Applied in the order they were produced, the only state
worth an alert is the drop; applied out of order (ratings after later session records), the intermediate
states would raise alerts (a missing-feedback episode) that the full history does not contain. An alert is
never retracted, so every announced rupture must be an episode of the final timeline, which the pure domain
computes from the final history.

Recent histories (the drop in the last 14 days) are news. Histories that ended two months ago are history:
their alerts are published marked ``from_history``, and notify records them but e-mails and calls no one.
"""

import asyncio
import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from reliability.stream import split_total
from services.feedback.batch import MAX_ITEMS
from services.scoring import domain
from services.scoring.translate import fact_from
from shared import topics
from shared.auth import Scope
from shared.contracts import FEEDBACK_SUBMITTED, SESSION_COMPLETED
from shared.messaging.subscription import InboundTopics
from shared.topics import ALL_TOPICS
from tests.integration.feedback.conftest import running_intake
from tests.integration.notify import conftest as notify_fixtures
from tests.integration.notify.conftest import Mailbox, Notify
from tests.integration.scoring.conftest import Scoring, eventually
from tests.support import waiting
from tests.support.kafka import records_matching, start_group_at_end
from tests.support.servers import Servers
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration

# notify's fixtures (the app with its own database, a real SMTP server, a webhook receiver), for this module.
notify, smtp, webhook = notify_fixtures.notify, notify_fixtures.smtp, notify_fixtures.webhook

CLIENTS = 200
POLL = 100  # records per scoring poll
SESSIONS = 8
SRS_ITEMS = ("relationship", "goals", "approach", "overall")
HISTORY = InboundTopics.of((SESSION_COMPLETED, FEEDBACK_SUBMITTED))
THERAPIST_EMAIL = "t1@clinic.example"


@dataclass(frozen=True)
class ImportedClient:
    client_id: str
    items: list[dict[str, Any]]  # the batch items of this client, in the order they are sent
    drop_session_id: str
    from_history: bool  # the drop is older than the push horizon: its alert is history, not news


def stable_history(
    client_id: str, ends_by: datetime, rng: random.Random, *, from_history: bool, recovers: bool | None = None
) -> ImportedClient:
    """``SESSIONS`` weekly sessions, the last one within a day before ``ends_by``: stable near 38.5, one drop
    of 6.5-7 points in the last two, then (when it ``recovers``, by default for half the clients) one more
    session back at the usual level."""
    recovers = rng.random() < 0.5 if recovers is None else recovers
    drop_index = SESSIONS - 2 if recovers else SESSIONS - 1
    last_at = ends_by - timedelta(hours=rng.randrange(0, 24))
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
    return ImportedClient(client_id, items, f"s{drop_index}", from_history)


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


@dataclass(frozen=True)
class Imported:
    clinic: str
    announced: list[dict[str, Any]]  # the data of every rupture.suspected of the clinic on Kafka
    timelines: dict[str, domain.EpisodeTimeline]


async def import_and_score(
    servers: Servers, scoring: Scoring, unique: str, clients: list[ImportedClient]
) -> Imported:
    """Send the clients' histories through the batch endpoint, then let scoring take the whole backlog."""
    items = interleaved(clients)
    assert len(items) == len(clients) * SESSIONS * 2

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
            expected=len(clients),
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
    return Imported(clinic, [json.loads(r.value)["data"] for r in alerts], timelines)


def assert_each_drop_announced_once(clients: list[ImportedClient], imported: Imported) -> None:
    """One alert per client, about its drop (an episode of its final timeline), news or history as planted."""
    announced = imported.announced
    assert Counter(a["client_id"] for a in announced) == Counter({c.client_id: 1 for c in clients})
    for client in clients:
        (alert,) = [a for a in announced if a["client_id"] == client.client_id]
        episodes = {e.episode_id: e for e in imported.timelines[client.client_id].episodes}
        assert alert["rupture_id"] in episodes, (
            f"{client.client_id}: alert about an episode not in its history"
        )
        assert alert["session_id"] == client.drop_session_id, client.client_id
        assert episodes[alert["rupture_id"]].opening_session_id == client.drop_session_id, client.client_id
        assert alert["severity"] == "high", client.client_id
        assert alert.get("from_history", False) is client.from_history, client.client_id


async def test_imported_recent_histories_announce_each_planted_drop_once_and_nothing_else(
    servers: Servers, scoring: Scoring, unique: str
) -> None:
    rng = random.Random(20261127)
    ends_by = datetime.now(UTC) - timedelta(days=2)
    clients = [
        stable_history(f"c-{k:03d}-{unique}", ends_by, rng, from_history=False) for k in range(CLIENTS)
    ]

    imported = await import_and_score(servers, scoring, unique, clients)

    assert_each_drop_announced_once(clients, imported)


def from_history_count(clinic_id: str) -> float:
    return REGISTRY.get_sample_value("alliance_alerts_from_history_total", {"clinic": clinic_id}) or 0.0


async def test_imported_histories_past_the_push_horizon_are_announced_once_and_pushed_to_no_one(
    servers: Servers,
    scoring: Scoring,
    notify: Notify,
    smtp: Mailbox,
    webhook: WebhookReceiver,
    unique: str,
) -> None:
    rng = random.Random(20261128)
    now = datetime.now(UTC)
    old = [
        stable_history(f"old-{k:03d}-{unique}", now - timedelta(days=60), rng, from_history=True)
        for k in range(CLIENTS)
    ]
    # One client whose drop was yesterday, imported last: its alert is news, e-mailed and webhooked, so
    # nothing sent about the others by the time it has arrived means nothing will be.
    recent = stable_history(f"new-{unique}", now - timedelta(days=1), rng, from_history=False, recovers=False)
    routing = {"therapists": [{"therapist_id": "t-1", "email": THERAPIST_EMAIL, "webhook_url": webhook.url}]}
    assert notify.clinic_id == f"clinic-{unique}"  # the intake's clinic

    async with notify.running() as http:  # notify's group starts before scoring announces anything
        answer = await http.put("/v1/routing", json=routing, headers=notify.key(Scope.ADMIN))
        assert answer.status_code == 200, answer.text
        imported = await import_and_score(servers, scoring, unique, [*old, recent])

        async def all_taken() -> bool:
            query = {"clinic_id": notify.clinic_id}
            return await notify.db["notify_episodes"].count_documents(query) == CLIENTS + 1

        await waiting.eventually(
            lambda: len(webhook.calls_for(recent.client_id)) >= 1, 30, "the recent alert's webhook"
        )
        await waiting.eventually(lambda: len(smtp.to(THERAPIST_EMAIL)) >= 1, 30, "the recent alert's e-mail")
        await waiting.eventually(all_taken, 30, "every alert taken by notify")
        await asyncio.sleep(1.0)  # the worker polls every 0.2 s: time enough to send anything it had

    assert_each_drop_announced_once([*old, recent], imported)
    alert_of = {a["client_id"]: a["rupture_id"] for a in imported.announced}
    assert [call.body["client_id"] for call in webhook.calls] == [recent.client_id]
    assert [message["To"] for message in smtp.messages] == [THERAPIST_EMAIL]
    assert {d["rupture_id"] for d in await notify.deliveries()} == {alert_of[recent.client_id]}
    episodes = await notify.db["notify_episodes"].find({"clinic_id": notify.clinic_id}).to_list()
    assert len(episodes) == CLIENTS + 1
    for episode in episodes:
        news = episode["client_id"] == recent.client_id
        assert episode["rupture_id"] == alert_of[episode["client_id"]]
        assert episode["rupture"]["from_history"] is not news, episode["client_id"]
        assert [a["from_history"] for a in episode["alerts"]] == [not news], episode["client_id"]
        assert (episode["escalate_at"] is not None) is news, episode["client_id"]
    assert from_history_count(notify.clinic_id) == CLIENTS
