"""The per-key request budget in MongoDB: one budget for every process, exact under concurrency, and a 503 (not a
500) when MongoDB does not answer."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.collection import AsyncCollection

from devstack.stack import Stack
from services.feedback.intake import STORAGE_UNAVAILABLE
from services.feedback.rate_limit import COLLECTION, KeyBudget
from tests.integration.feedback.conftest import running_intake
from tests.integration.feedback.payloads import session
from tests.support.servers import Servers, throwaway_stack

pytestmark = pytest.mark.integration

HOUR = 3600
# Half-way through an hour window: the previous hour still weighs half.
HALF_PAST = 1_800_000_000 + HOUR // 2


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def budgets(servers: Servers, unique: str) -> AsyncIterator[list[AsyncCollection[dict[str, Any]]]]:
    """The budget collection of a fresh database, as two processes see it: each through its own client."""
    clients: list[AsyncMongoClient[dict[str, Any]]] = [
        AsyncMongoClient(servers.mongodb_uri, tz_aware=True, w="majority") for _ in range(2)
    ]
    try:
        yield [client[f"budget_{unique}"][COLLECTION] for client in clients]
    finally:
        for client in clients:
            await client.close()


async def test_two_processes_racing_share_one_budget_exactly(
    budgets: list[AsyncCollection[dict[str, Any]]],
) -> None:
    first, second = (KeyBudget(collection, "20/hour") for collection in budgets)
    await first.ensure_indexes()
    answers = await asyncio.gather(*(budget.spend("key-a") for _ in range(25) for budget in (first, second)))
    refused = [wait for wait in answers if wait is not None]
    assert len(answers) - len(refused) == 20
    assert refused and all(wait > 0 for wait in refused)
    # Another key has a budget of its own.
    assert await second.spend("key-b") is None


class Commands(monitoring.CommandListener):
    """The names of the commands a client sent."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_requests_of_a_key_arriving_together_are_counted_in_one_round_trip(
    servers: Servers, unique: str
) -> None:
    commands = Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        servers.mongodb_uri, tz_aware=True, event_listeners=[commands]
    )
    try:
        budget = KeyBudget(client[f"budget_{unique}"][COLLECTION], "20/hour")
        answers = await asyncio.gather(*(budget.spend("key-a") for _ in range(30)))
    finally:
        await client.close()
    # In arrival order: the first 20 fit.
    assert [wait is None for wait in answers] == [True] * 20 + [False] * 10
    assert commands.names.count("findAndModify") == 1


async def test_the_previous_window_weighs_by_the_share_still_inside(
    budgets: list[AsyncCollection[dict[str, Any]]],
) -> None:
    collection = budgets[0]
    previous_start = datetime.fromtimestamp(HALF_PAST - HOUR // 2 - HOUR, UTC)
    await collection.insert_one({"_id": {"key": "key-a", "start": previous_start}, "count": 20})
    clock = Clock(HALF_PAST)
    budget = KeyBudget(collection, "20/hour", clock)

    answers = [await budget.spend("key-a") for _ in range(12)]

    # 20 an hour before, half of them still inside the sliding hour: room for 10.
    assert [wait is None for wait in answers] == [True] * 10 + [False] * 2
    # The next one fits once the previous hour weighs 9: a twentieth of an hour on.
    assert answers[-1] == pytest.approx(HOUR / 20)
    clock.now += HOUR / 20 + 1
    assert await budget.spend("key-a") is None


async def test_a_new_window_counts_the_one_before_it(budgets: list[AsyncCollection[dict[str, Any]]]) -> None:
    clock = Clock(HALF_PAST)
    budget = KeyBudget(budgets[0], "20/hour", clock)
    assert all([await budget.spend("key-a") is None for _ in range(20)])
    assert await budget.spend("key-a") is not None

    clock.now += HOUR  # half-way through the next hour: the 20 still weigh 10
    answers = [await budget.spend("key-a") for _ in range(11)]

    assert [wait is None for wait in answers] == [True] * 10 + [False]


async def test_a_caller_is_never_told_to_wait_more_than_the_window(
    budgets: list[AsyncCollection[dict[str, Any]]],
) -> None:
    window_start = HALF_PAST - HOUR // 2
    budget = KeyBudget(budgets[0], "3/hour", Clock(window_start))
    assert all([await budget.spend("key-a") is None for _ in range(3)])
    # The 3 still weigh 3 when this hour ends; one more fits only a third of an hour later, but the answer
    # stops at one hour.
    assert await budget.spend("key-a") == HOUR


async def test_a_window_is_kept_only_while_it_can_weigh_in(
    budgets: list[AsyncCollection[dict[str, Any]]],
) -> None:
    collection = budgets[0]
    budget = KeyBudget(collection, "20/hour", Clock(HALF_PAST))
    await budget.ensure_indexes()
    assert await budget.spend("key-a") is None

    window = await collection.find_one({})
    assert window is not None
    start = datetime.fromtimestamp(HALF_PAST - HOUR // 2, UTC)
    assert window["_id"] == {"key": "key-a", "start": start}
    # Through its own hour, and the next one, in which it is the previous window.
    assert window["expires_at"] == start + timedelta(hours=2)
    indexes = await collection.index_information()
    assert any(
        index["key"] == [("expires_at", 1)] and index.get("expireAfterSeconds") == 0
        for index in indexes.values()
    )


@pytest.fixture(scope="module")
def throwaway_mongod() -> Iterator[Stack]:
    """A mongod of this module's own (devstack profile ``budgetdown``), which a test may stop."""
    with throwaway_stack("budgetdown", kafka=False) as stack:
        yield stack


async def test_a_budget_mongodb_does_not_answer_is_a_503_with_retry_after(
    throwaway_mongod: Stack, servers: Servers, unique: str
) -> None:
    async with running_intake(
        servers.kafka_bootstrap, throwaway_mongod.mongodb_uri, unique, mongodb_timeout_ms=1000
    ) as intake:
        body = session(f"c-{unique}")
        assert (await intake.http.post("/v1/sessions", json=body, headers=intake.auth)).status_code == 202

        await asyncio.to_thread(throwaway_mongod.stop, ["mongod"])
        refused = await intake.http.post("/v1/sessions", json=body, headers=intake.auth)

    assert refused.status_code == 503, refused.text
    assert refused.json() == {"detail": STORAGE_UNAVAILABLE}
    assert int(refused.headers["Retry-After"]) >= 1
