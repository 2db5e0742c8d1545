"""What happens when handling a consumed message fails.

- A message that can never succeed (not JSON, invalid envelope or body, unknown type or version) goes to the
  dead-letter topic with the reason and its original bytes, is counted, and is then acknowledged so the
  partition moves on.
- A transient failure (MongoDB or Kafka unreachable, a transaction conflict) is retried in place with capped
  exponential backoff and jitter: the message is never skipped, and the loop never spins hot.
- Anything else is retried a few times (it may be a race) and then dead-lettered with the exception type, so
  one bad message cannot stop a partition forever and nothing disappears silently.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiokafka.errors import KafkaError
from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from prometheus_client import Counter
from pymongo.errors import ConnectionFailure, PyMongoError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_never, wait_exponential_jitter

from shared import topics
from shared.contracts import ContractViolation
from shared.contracts.binding import BINARY_ID_HEADER, CONTENT_TYPE, EVENT_ID_HEADER, HEADER_PREFIX

log = logging.getLogger("alliance.delivery")

DEAD_LETTERS = Counter(
    "alliance_dead_letters_total", "Messages sent to the dead-letter topic.", ["topic", "reason"]
)
TRANSIENT_RETRIES = Counter(
    "alliance_transient_retries_total", "Handler attempts retried after a transient failure.", ["topic"]
)

UNEXPECTED_ATTEMPTS = 5
# Capped exponential backoff with jitter: 0.2 s, 0.4 s, 0.8 s ... at most 10 s, so a retry never spins hot.
BACKOFF = wait_exponential_jitter(multiplier=0.2, max=10.0, jitter=0.2)


class TransientFailure(Exception):
    """Raised by a handler when a dependency (a channel, a peer) failed in a way worth retrying."""


def is_transient(error: BaseException) -> bool:
    if isinstance(error, TransientFailure | ConnectionFailure | KafkaError | TimeoutError):
        return True
    return isinstance(error, PyMongoError) and (
        error.has_error_label("TransientTransactionError")
        or error.has_error_label("RetryableWriteError")
        or error.has_error_label("UnknownTransactionCommitResult")
    )


def retrying(topic: str) -> AsyncRetrying:
    """The retry policy of a handler attempt: a transient failure is retried for ever with capped backoff, an
    unexpected one ``UNEXPECTED_ATTEMPTS`` times in all, a contract violation never (the error is re-raised)."""
    unexpected_failures = 0

    def should_retry(error: BaseException) -> bool:
        nonlocal unexpected_failures
        if isinstance(error, ContractViolation):
            return False
        if is_transient(error):
            return True
        unexpected_failures += 1
        return unexpected_failures < UNEXPECTED_ATTEMPTS

    def before_sleep(state: RetryCallState) -> None:
        TRANSIENT_RETRIES.labels(topic).inc()
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "retrying message",
            extra={"topic": topic, "attempt": state.attempt_number, "error": type(error).__name__},
        )

    return AsyncRetrying(
        retry=retry_if_exception(should_retry),
        wait=BACKOFF,
        stop=stop_never,
        before_sleep=before_sleep,
        reraise=True,
    )


async def dead_letter(broker: KafkaBroker, record: Any, value: bytes, reason: str, detail: str) -> None:
    """Publish ``value`` (the original bytes of consumed ``record``) to the dead-letter topic, with why."""
    topic = getattr(record, "topic", "unknown")
    await broker.publish(
        value,
        topic=topics.DEAD_LETTER.name,
        key=getattr(record, "key", None),
        headers={
            **event_headers(getattr(record, "headers", ())),
            "x-dead-letter-reason": reason,
            "x-dead-letter-detail": detail[:1000],
            "x-original-topic": topic,
            "x-original-partition": str(getattr(record, "partition", "")),
            "x-original-offset": str(getattr(record, "offset", "")),
        },
    )
    DEAD_LETTERS.labels(topic, reason).inc()
    # Named by its own id: in a batch, the id bound for the log lines of the whole poll is its first record's.
    event_id = next(
        (
            (v or b"").decode(errors="replace")
            for k, v in getattr(record, "headers", ())
            if k in (EVENT_ID_HEADER, BINARY_ID_HEADER)
        ),
        None,
    )
    with structlog.contextvars.bound_contextvars(**({"event_id": event_id} if event_id else {})):
        log.warning("message dead-lettered", extra={"topic": topic, "reason": reason, "detail": detail[:300]})


def event_headers(headers: Any) -> dict[str, str]:
    """The headers that belong to the event itself (the binding's ``content-type`` and ``ce_*``): a binary-mode
    record's attributes are there, and its dead letter would be only ``data`` without them."""
    return {
        name: (raw or b"").decode(errors="replace")
        for name, raw in headers or ()
        if name.lower() == CONTENT_TYPE or name.lower().startswith(HEADER_PREFIX)
    }


class DeliveryGuard(BaseMiddleware):
    """Applies the retry policy to every consumed message, and dead-letters what can never succeed.

    A batch (``subscribe_batch``) is retried as a whole; its handler dead-letters its own poison records, so
    only a batch that keeps failing unexpectedly reaches the last resort here: each of its records is
    dead-lettered on its own, with its own bytes, partition and offset.
    """

    def __init__(self, msg: Any, /, *, broker: KafkaBroker, **kwargs: Any) -> None:
        super().__init__(msg, **kwargs)
        self._broker = broker

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        # Every log line written while handling this message names the event (by id, never its content).
        event_id = msg.headers.get(EVENT_ID_HEADER) or msg.headers.get(BINARY_ID_HEADER)
        about = {"event_id": event_id, "topic": _topic_of(msg)}
        with structlog.contextvars.bound_contextvars(**{k: v for k, v in about.items() if v}):
            return await self._guarded_consume(call_next, msg)

    async def _guarded_consume(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        topic = _topic_of(msg) or "unknown"
        try:
            async for attempt in retrying(topic):
                with attempt:
                    return await call_next(msg)
        except ContractViolation as violation:
            await self._dead_letter(msg, "contract", str(violation))
        except Exception as error:
            log.exception("message failed repeatedly; dead-lettered", extra={"topic": topic})
            await self._dead_letter(msg, "handler", f"{type(error).__name__} after retries")
        return None

    async def _dead_letter(self, msg: StreamMessage[Any], reason: str, detail: str) -> None:
        if isinstance(msg.raw_message, tuple):  # a batch: each record on its own
            for record in msg.raw_message:
                await dead_letter(self._broker, record, record.value or b"", reason, detail)
        else:
            await dead_letter(self._broker, msg.raw_message, msg.body, reason, detail)


def _topic_of(msg: StreamMessage[Any]) -> str | None:
    record = msg.raw_message[0] if isinstance(msg.raw_message, tuple) and msg.raw_message else msg.raw_message
    topic = getattr(record, "topic", None)
    return topic if isinstance(topic, str) else None
