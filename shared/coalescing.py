"""One round trip for the calls that arrive while the previous round trip is on its way.

A call waits for its answer. The first call of a quiet moment goes out alone, at once; the calls that arrive
while it is on its way go out together in the next round trip, and so on until none is waiting. Under load,
one round trip (one MongoDB command, one socket write, one reply to parse) then serves many requests, and
nobody waits for a timer; a request alone is answered as fast as it would have been on its own.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class Coalescing(Generic[Item, Answer]):
    """``round_trip`` answers one item each, in order: an exception in its list fails that call alone, one it
    raises fails every call of the trip."""

    def __init__(
        self, round_trip: Callable[[Sequence[Item]], Awaitable[Sequence[Answer | BaseException]]]
    ) -> None:
        self._round_trip = round_trip
        self._waiting: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def __call__(self, item: Item) -> Answer:
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, answer))
        if self._sending is None:
            self._sending = asyncio.create_task(self._send_waiting())
        return await answer

    async def _send_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    answers: Sequence[Answer | BaseException] = await self._round_trip(
                        [item for item, _ in batch]
                    )
                except Exception as error:  # each call fails with it, as it would have alone
                    answers = [error] * len(batch)
                except BaseException:  # cancelled (the process is stopping): nobody is left waiting forever
                    for _, future in [*batch, *self._waiting]:
                        future.cancel()
                    self._waiting = []  # their callers are gone: a later trip must not send their items
                    raise
                for (_, future), answer in zip(batch, answers, strict=True):
                    if future.done():  # its caller was cancelled
                        continue
                    if isinstance(answer, BaseException):
                        future.set_exception(answer)
                    else:
                        future.set_result(answer)
        finally:
            self._sending = None
