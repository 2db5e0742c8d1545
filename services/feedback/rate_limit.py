"""A per-API-key request budget (the `limits` library, in memory: each replica counts its own requests)."""

import math
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from shared.auth import ClinicPrincipal, Scope, require_scope


class KeyBudget:
    def __init__(self, limit: str) -> None:
        self._limit = parse(limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def spend(self, key_id: str) -> float | None:
        """Count one request; None when allowed, else the seconds until the next one would be."""
        if self._limiter.hit(self._limit, key_id):
            return None
        stats = self._limiter.get_window_stats(self._limit, key_id)
        return max(stats.reset_time - time.time(), 1.0)


def limited_clinic(scope: Scope) -> Callable[..., Awaitable[ClinicPrincipal]]:
    """The calling clinic (as ``require_scope``), within its key's request budget: else 429 + Retry-After."""

    async def principal(
        request: Request, clinic: Annotated[ClinicPrincipal, Depends(require_scope(scope))]
    ) -> ClinicPrincipal:
        budget: KeyBudget = request.app.state.key_budget
        wait = budget.spend(clinic.key_id)
        if wait is not None:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                detail="too many requests for this API key",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        return clinic

    return principal


IngestClinic = Annotated[ClinicPrincipal, Depends(limited_clinic(Scope.INGEST))]
