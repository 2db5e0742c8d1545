"""Calls that arrive while a round trip is on its way share the next one, and each gets its own answer."""

import asyncio
from collections.abc import Sequence

from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from shared.coalescing import Coalescing
from shared.mongo import outcomes_of


async def settle() -> None:
    """Let every task that can run, run (a call starts its trip in a task of its own)."""
    for _ in range(5):
        await asyncio.sleep(0)


class SlowDoubler:
    """A round trip that takes a while and doubles each number; it refuses 13 alone."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()

    async def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        await self.release.wait()
        return [ValueError("thirteen") if item == 13 else item * 2 for item in items]


async def test_a_call_alone_goes_at_once_and_those_arriving_meanwhile_share_the_next_trip() -> None:
    doubler = SlowDoubler()
    coalescing = Coalescing[int, int](doubler)
    first = asyncio.create_task(coalescing(1))
    await settle()
    assert doubler.batches == [[1]]
    rest = [asyncio.create_task(coalescing(n)) for n in (2, 3, 13, 4)]
    await settle()
    assert doubler.batches == [[1]]  # still on its way: the others wait for the next trip
    doubler.release.set()
    assert await first == 2
    answers = await asyncio.gather(*rest, return_exceptions=True)
    assert doubler.batches == [[1], [2, 3, 13, 4]]
    assert answers[:2] == [4, 6] and answers[3] == 8
    assert isinstance(answers[2], ValueError)  # its own failure, nobody else's


async def test_a_failed_trip_fails_each_of_its_calls_and_the_next_trip_starts_afresh() -> None:
    trips = 0

    async def failing_once(items: Sequence[str]) -> list[str | BaseException]:
        nonlocal trips
        trips += 1
        if trips == 1:
            raise ConnectionError("no answer")
        return [item.upper() for item in items]

    coalescing = Coalescing[str, str](failing_once)
    results = await asyncio.gather(coalescing("a"), coalescing("b"), return_exceptions=True)
    assert [type(result) for result in results] == [ConnectionError, ConnectionError]
    assert await coalescing("c") == "C"


async def test_a_cancelled_caller_does_not_stop_the_others() -> None:
    doubler = SlowDoubler()
    coalescing = Coalescing[int, int](doubler)
    blocker = asyncio.create_task(coalescing(0))
    await settle()
    leaving, staying = asyncio.create_task(coalescing(5)), asyncio.create_task(coalescing(6))
    await settle()
    leaving.cancel()
    doubler.release.set()
    assert (await blocker, await staying) == (0, 12)
    assert leaving.cancelled()


def test_each_write_of_an_unordered_bulk_write_gets_its_own_outcome() -> None:
    error = BulkWriteError(
        {
            "writeErrors": [
                {"index": 1, "code": 11000, "errmsg": "E11000 duplicate key"},
                {"index": 3, "code": 121, "errmsg": "Document failed validation"},
            ],
            "writeConcernErrors": [],
        }
    )
    outcomes = outcomes_of(4, error)
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], DuplicateKeyError)
    assert isinstance(outcomes[3], WriteError) and not isinstance(outcomes[3], DuplicateKeyError)


def test_a_write_concern_error_leaves_every_write_uncertain() -> None:
    error = BulkWriteError({"writeErrors": [], "writeConcernErrors": [{"code": 64, "errmsg": "waiting"}]})
    assert outcomes_of(3, error) == [error, error, error]


async def test_a_trip_cancelled_mid_way_cancels_its_callers_and_theirs_are_not_sent_later() -> None:
    doubler = SlowDoubler()
    coalescing = Coalescing[int, int](doubler)
    on_its_way = asyncio.create_task(coalescing(1))
    await settle()
    waiting = asyncio.create_task(coalescing(2))
    await settle()
    assert coalescing._sending is not None
    coalescing._sending.cancel()  # as when the process stops
    await settle()
    assert on_its_way.cancelled() and waiting.cancelled()
    doubler.release.set()
    assert await coalescing(3) == 6
    assert doubler.batches == [[1], [3]]
