"""A background loop that runs one step after each wake-up or poll interval, until it is asked to stop.

Two things it guards against:
- A step that fails, whatever the error, is logged and tried again after capped exponential backoff with
  jitter. A relay or worker that ended on an unexpected exception would leave its service alive,
  healthy-looking and doing nothing.
- It stops on request rather than by cancellation. A cancel that lands inside a MongoDB call can be absorbed
  by the driver, and the loop would then run on and hold up shutdown forever.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_never

from shared.messaging.delivery import BACKOFF

log = logging.getLogger("alliance.loop")


class WakeableLoop:
    def __init__(self, name: str, poll_seconds: float) -> None:
        self.name = name
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run_steps(self, step: Callable[[], Awaitable[object]]) -> None:
        while not self._stopping.is_set():
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(Exception),
                wait=BACKOFF,
                stop=stop_never,
                before_sleep=self._report,
            ):
                with attempt:
                    await step()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            self._wake.clear()

    def _report(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "background step failed; retrying",
            extra={"loop": self.name, "attempt": state.attempt_number, "error": type(error).__name__},
        )


async def stop_and_wait(loop: WakeableLoop, task: "asyncio.Task[None]", within: float) -> None:
    """Ask ``loop`` to stop and wait for its step to finish; cancel it only if it overruns ``within``.

    Never raises: shutdown must go on to stop the broker whatever happened to the loop.
    """
    loop.stop()
    try:
        await asyncio.wait_for(asyncio.shield(task), within)
    except TimeoutError:
        task.cancel()
    except Exception:
        log.warning("background loop ended with an error", extra={"loop": loop.name}, exc_info=True)
