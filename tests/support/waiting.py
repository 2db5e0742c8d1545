"""Waiting, bounded, for something the platform does asynchronously."""

import asyncio
import time
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], Awaitable[bool] | bool],
    within: float = 15.0,
    what: str = "condition",
    interval: float = 0.1,
) -> None:
    """Wait until ``check`` holds (it may be a plain or an async function); fail clearly if it never does."""
    deadline = time.monotonic() + within
    while True:
        outcome = check()
        if await outcome if isinstance(outcome, Awaitable) else outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {within:.0f} s")
        await asyncio.sleep(interval)
