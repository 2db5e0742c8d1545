"""The request budget of each API key (FEEDBACK_RATE_LIMIT), counted in MongoDB: one budget, shared by every
worker process and every replica of the intake.

The count is the approximation the ``limits`` library calls a sliding window counter: the requests admitted in
the current fixed window, plus those of the previous window weighted by the share of it still inside the
sliding window. A request is admitted when, counted, it keeps that weighted count within the limit. Windows are
aligned to the epoch; each key's window is one document (collection ``feedback_key_budget``), changed by one
atomic upsert per request (or per batch of a key's requests arriving together), and dropped by a TTL index once
it can no longer weigh in.

Only admitted requests are counted: a caller that keeps knocking while refused does not push its own budget
further away. Retry-After names the moment the next request would be admitted, one window away at most.
"""

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from limits import parse
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from shared.auth import ClinicPrincipal, Scope, require_scope
from shared.coalescing import Coalescing

COLLECTION = "feedback_key_budget"
Document = dict[str, Any]


@dataclass(frozen=True)
class SlidingWindow:
    """``limit`` requests per ``seconds``, as a sliding window counter (pure arithmetic, no I/O)."""

    limit: int
    seconds: int

    @classmethod
    def parse(cls, notation: str) -> "SlidingWindow":
        """From the ``limits`` notation, e.g. '600/minute' or '20 per 10 seconds'."""
        item = parse(notation)
        return cls(item.amount, item.get_expiry())

    def start_of(self, moment: float) -> int:
        """The start (epoch seconds) of the fixed window holding ``moment``."""
        return int(moment // self.seconds) * self.seconds

    def room(self, previous: int, elapsed: float) -> int:
        """How many requests the current window may hold, ``elapsed`` seconds into it, after ``previous`` in
        the window before: the next one is admitted while the current count is below this."""
        return math.floor(self.limit - self._weighted(previous, elapsed))

    def wait(self, previous: int, current: int, elapsed: float) -> float:
        """Seconds from ``elapsed`` into the current window until one more request would be admitted."""
        if current < self.limit:
            # Within this window, as the previous window slides out.
            fits_at = self._fades_to(previous, self.limit - 1 - current)
            if fits_at < self.seconds:
                return max(fits_at - elapsed, 0.0)
        # Only in the next window, where this one is the previous and slides out in its turn.
        return self.seconds - elapsed + self._fades_to(current, self.limit - 1)

    def _weighted(self, previous: int, elapsed: float) -> float:
        return previous * (self.seconds - elapsed) / self.seconds

    def _fades_to(self, previous: int, allowed: int) -> float:
        """Seconds into a window until ``previous`` requests of the window before weigh ``allowed`` at most."""
        if previous <= allowed:
            return 0.0
        return self.seconds * (1 - allowed / previous)


class KeyBudget:
    """The budget of every API key, in ``collection``.

    The requests of a key that arrive while a count of its requests is on its way to MongoDB are counted together
    in the next one (shared/coalescing.py): under load one round trip serves many requests, and a request alone
    has its own.
    """

    def __init__(
        self, collection: AsyncCollection[Document], limit: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.collection = collection
        self.window = SlidingWindow.parse(limit)
        self.clock = clock
        # key id -> (start of its previous window, requests admitted in it). A window that has ended no
        # longer changes, so each process reads it once, not on every request.
        self._previous: dict[str, tuple[int, int]] = {}
        self._counters: dict[str, Coalescing[None, float | None]] = {}

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("expires_at", expireAfterSeconds=0, name="expire_after_window")

    async def spend(self, key_id: str) -> float | None:
        """Count one request; None when admitted, else the seconds to wait before the next (one window at most)."""
        counter = self._counters.get(key_id)
        if counter is None:
            counter = self._counters[key_id] = Coalescing(partial(self._count_all, key_id))
        return await counter(None)

    async def _count_all(self, key_id: str, requests: Sequence[None]) -> list[float | None]:
        return await self._count(key_id, len(requests))

    async def _count(self, key_id: str, requests: int) -> list[float | None]:
        """Count as many of ``requests`` as there is room for; for each, None if admitted, else its wait."""
        now = self.clock()
        start = self.window.start_of(now)
        elapsed = now - start
        previous = await self._previous_count(key_id, start - self.window.seconds)
        room = self.window.room(previous, elapsed)
        count = {"$ifNull": ["$count", 0]}
        # One atomic upsert on the window's document: it counts the requests there is room for, and returns the
        # count before, which tells how many that was. Concurrent first requests of a window cannot both insert
        # it: the server retries an upsert that lost the race on `_id`.
        before = await self.collection.find_one_and_update(
            {"_id": _window_id(key_id, start)},
            [
                {
                    "$set": {
                        "count": {
                            "$add": [count, {"$max": [0, {"$min": [requests, {"$subtract": [room, count]}]}]}]
                        },
                        "expires_at": _moment(start + 2 * self.window.seconds),
                    }
                }
            ],
            projection={"count": True},
            upsert=True,
            return_document=ReturnDocument.BEFORE,
        )
        current = 0 if before is None else int(before["count"])
        admitted = max(0, min(requests, room - current))
        if admitted == requests:
            return [None] * requests
        # At most one window: the weighted count takes a burst at the start of a window to be spread over it,
        # which can put the next admission a little beyond a whole window away, where an exact moving window
        # would already admit. A caller refused again then is told the rest.
        wait = min(self.window.wait(previous, current + admitted, elapsed), self.window.seconds)
        return [None] * admitted + [wait] * (requests - admitted)

    async def _previous_count(self, key_id: str, start: int) -> int:
        known = self._previous.get(key_id)
        if known is not None and known[0] == start:
            return known[1]
        found = await self.collection.find_one({"_id": _window_id(key_id, start)}, {"count": True})
        count = 0 if found is None else int(found["count"])
        self._previous[key_id] = (start, count)
        return count


def _window_id(key_id: str, start: int) -> Document:
    return {"key": key_id, "start": _moment(start)}


def _moment(epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def limited_clinic(scope: Scope) -> Callable[..., Awaitable[ClinicPrincipal]]:
    """The calling clinic (as ``require_scope``), within its key's request budget: else 429 + Retry-After."""

    async def principal(
        request: Request, clinic: Annotated[ClinicPrincipal, Depends(require_scope(scope))]
    ) -> ClinicPrincipal:
        budget: KeyBudget = request.app.state.key_budget
        wait = await budget.spend(clinic.key_id)
        if wait is not None:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                detail="too many requests for this API key",
                headers={"Retry-After": str(max(math.ceil(wait), 1))},
            )
        return clinic

    return principal


IngestClinic = Annotated[ClinicPrincipal, Depends(limited_clinic(Scope.INGEST))]
