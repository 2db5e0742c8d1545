"""Sends the stream to the feedback service at a chosen rate, as an integrating system should.

Each request carries an Idempotency-Key that is the item's own id, so a request retried after a timeout, a
5xx, a 429 or a dropped connection (the service was killed mid-request) is the same request and becomes one
event. The driver never gives up on an item before its deadline: what it reports as accepted is exactly what
the platform promised to keep, and every item ends either accepted or rejected (with the reason).

Items are dispatched at the target rate, in stream order, each to its client's lane. A lane sends its client's
items one at a time, in stream order: a client's next item goes out only once the previous one was accepted
or rejected, as one client's records would leave an EHR. Different clients' lanes send concurrently, at most
``concurrency`` requests in flight, over as many keep-alive connections. When the service answers slower than
the rate needs, items wait in their lanes and the achieved rate (accepted per second over the sending window)
says so.
"""

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit

from reliability.stream import StreamItem

PATHS = {"session": "/v1/sessions", "feedback": "/v1/feedback"}
# 409: the first request with this Idempotency-Key is still running (or died mid-way and its claim has not
# expired yet): the same request, tried again later.
RETRYABLE = {409, 429, 500, 502, 503, 504}
CONCURRENCY = 32  # requests in flight: a few times what 200/s needs at the intake's usual latency
BATCH_ITEMS = 500  # the batch endpoint's limit
BATCH_TYPES = {"session": "session.completed", "feedback": "feedback.submitted"}
# Socket errors, timeouts, an answer cut short or one this client cannot read.
NO_ANSWER = (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


@dataclass
class DriveReport:
    accepted: dict[str, str] = field(default_factory=dict)  # item id -> event id
    accepted_at: dict[str, float] = field(default_factory=dict)  # item id -> time.monotonic()
    rejected: dict[str, str] = field(default_factory=dict)  # item id -> reason
    retries: int = 0
    seconds: float = 0.0  # the sending window: from the first request until the last item was answered
    started: float = 0.0  # time.monotonic() of the first request
    answers: Counter[int] = field(default_factory=Counter)  # HTTP status -> answers seen, retries included
    transport_errors: int = 0  # attempts that got no HTTP answer (refused, reset, timed out)
    accepted_in_batches: int = 0  # items a batch answer listed as accepted
    cpu_seconds: float = 0.0  # CPU time of the driving process over the sending window

    @property
    def acknowledged(self) -> int:
        """Writes the intake acknowledged: HTTP 202 answers (one per accepted single item: a retry answered 202
        ends the item) and the items a batch answer (200) lists as accepted."""
        return self.answers[202] + self.accepted_in_batches

    @property
    def unavailable(self) -> int:
        """HTTP 503 answers: the intake could not store the write (Kafka did not acknowledge it)."""
        return self.answers[503]

    @property
    def achieved_rate(self) -> float:
        """Accepted items per second over the sending window."""
        return len(self.accepted) / self.seconds if self.seconds > 0 else 0.0

    @property
    def longest_stall(self) -> float:
        """The longest stretch of the sending window in which no item was accepted: how long a fault held the
        intake back, whatever the machine's speed (a slower machine accepts less, but not later)."""
        edges = sorted([self.started, *self.accepted_at.values(), self.started + self.seconds])
        return max((later - earlier for earlier, later in pairwise(edges)), default=0.0)

    def accepted_per(self, step: float = 10.0) -> list[int]:
        """Items accepted in each ``step`` seconds of the sending window: where a fault held the load back."""
        buckets = [0] * (int(self.seconds // step) + 1)
        for at in self.accepted_at.values():
            buckets[min(int((at - self.started) // step), len(buckets) - 1)] += 1
        return buckets

    def summary(self) -> str:
        return (
            f"{len(self.accepted)} accepted, {len(self.rejected)} rejected in {self.seconds:.1f} s "
            f"({self.achieved_rate:.1f}/s); {self.acknowledged} acknowledged, {self.unavailable} answered 503, "
            f"{self.retries} retries, {self.transport_errors} without an answer; "
            f"at most {self.longest_stall:.1f} s without an acceptance; "
            f"driver CPU {self.cpu_seconds:.1f} s; accepted per 10 s: "
            + " ".join(str(count) for count in self.accepted_per())
        )


async def drive(
    feedback_url: str,
    api_keys: Mapping[str, str],
    items: Sequence[StreamItem],
    rate: float,
    item_deadline: float = 120.0,
    progress_every: int = 200,
    report: DriveReport | None = None,
    concurrency: int = CONCURRENCY,
    batched: Collection[str] = (),
) -> DriveReport:
    """Dispatch ``items`` at ``rate`` per second; ``report`` (given by a caller that watches progress) fills
    as items are answered. ``item_deadline`` counts from an item's first attempt.

    ``batched``: clinics that send as a system syncing a clinic's records would, through the batch endpoint: one
    lane per clinic, one batch in flight, each batch carrying every item that came due while the previous one
    was answered (so a client's items keep their order across batches and inside one). The others send each
    item on its own."""
    report = report if report is not None else DriveReport()
    lanes: dict[tuple[str, str], asyncio.Queue[StreamItem | None]] = {}
    workers: list[asyncio.Task[None]] = []
    started, cpu_started = time.monotonic(), time.process_time()
    report.started = started

    def progress() -> None:
        done = len(report.accepted) + len(report.rejected)
        if progress_every and done % progress_every == 0:
            print(f"  answered {done}/{len(items)} ({report.retries} retries)", flush=True)

    async def lane(http: Connections, queue: asyncio.Queue[StreamItem | None], batches: bool) -> None:
        if batches:
            while (first := await queue.get()) is not None:
                batch = [first]
                while len(batch) < BATCH_ITEMS and not queue.empty():
                    if (item := queue.get_nowait()) is None:
                        queue.put_nowait(None)  # the end: after this batch
                        break
                    batch.append(item)
                await _send_batch(http, api_keys[first.clinic_id], batch, report, item_deadline)
                progress()
            return
        while (item := await queue.get()) is not None:
            await _send(http, api_keys[item.clinic_id], item, report, item_deadline)
            progress()

    async with Connections(feedback_url, concurrency) as http:
        try:
            for number, item in enumerate(items):
                await asyncio.sleep(max(0.0, started + number / rate - time.monotonic()))
                batches = item.clinic_id in batched
                key = (item.clinic_id, "" if batches else item.client_id)
                queue = lanes.get(key)
                if queue is None:
                    queue = lanes[key] = asyncio.Queue()
                    workers.append(asyncio.create_task(lane(http, queue, batches)))
                queue.put_nowait(item)
            for queue in lanes.values():
                queue.put_nowait(None)
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            report.seconds = time.monotonic() - started
            report.cpu_seconds = time.process_time() - cpu_started
    return report


@dataclass(frozen=True)
class Answer:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class TransportError(Exception):
    """No complete HTTP answer: the connection was refused, reset or closed, the answer timed out, or it was
    not HTTP/1.1 as this client reads it. The request may or may not have reached the service."""


@dataclass(eq=False)
class _Stream:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


class Connections:
    """``size`` keep-alive HTTP/1.1 connections to one service, each lent to one request at a time.

    A client of its own rather than httpx: at 200 requests a second on two cores, httpx took 1.2 ms of CPU per
    request with one client per connection and 3 ms with one pooled client (whose pool re-examines every idle
    connection, a system call each, whenever a request starts or ends), against about 0.35 ms here, and the
    platform under test needs those cores. It speaks what the driver needs: a POST with a body, an answer
    with a Content-Length, a chunked body or one that ends with the connection. Anything else, and every
    socket error or timeout, is a ``TransportError``, which the driver retries with the same Idempotency-Key.
    The most recently used connection is lent first, so only as many stay open as the load needs; one the
    service closed while idle is replaced before it is used.
    """

    def __init__(self, base_url: str, size: int, timeout: float = 10.0) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"an http:// URL is needed, not {base_url!r}")
        self._host, self._port, self._authority = url.hostname, url.port or 80, url.netloc
        self._timeout = timeout
        self._free: asyncio.LifoQueue[_Stream | None] = asyncio.LifoQueue()
        for _ in range(size):
            self._free.put_nowait(None)
        self._open: set[_Stream] = set()

    async def post(self, path: str, content: bytes, headers: Mapping[str, str]) -> Answer:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self._authority}\r\n{head}Content-Length: {len(content)}\r\n\r\n"
        ).encode("latin-1") + content
        stream = await self._free.get()
        try:
            async with asyncio.timeout(self._timeout):
                if stream is None or stream.reader.at_eof():  # the service closed it while it was idle
                    self._close(stream)
                    stream = await self._connect()
                stream.writer.write(request)
                await stream.writer.drain()
                answer, reusable = await _read_answer(stream.reader)
            if not reusable:
                self._close(stream)
                stream = None
            return answer
        except BaseException as error:  # the connection is in a state unknown: never lend it again
            self._close(stream)
            stream = None
            if isinstance(error, NO_ANSWER):
                raise TransportError(f"{type(error).__name__}: {error}") from error
            raise
        finally:
            self._free.put_nowait(stream)

    async def _connect(self) -> _Stream:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        stream = _Stream(reader, writer)
        self._open.add(stream)
        return stream

    def _close(self, stream: _Stream | None) -> None:
        if stream is not None:
            self._open.discard(stream)
            stream.writer.close()

    async def __aenter__(self) -> "Connections":
        return self

    async def __aexit__(self, *_: object) -> None:
        streams = list(self._open)
        for stream in streams:
            self._close(stream)
        for stream in streams:
            with contextlib.suppress(OSError):
                await stream.writer.wait_closed()


async def _read_answer(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
    """The answer, and whether the connection can carry another request."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    version, status = head[0].split(" ", 2)[:2]
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1 answer: {head[0][:60]!r}")
    status_code = int(status)
    fields: dict[str, str] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    reusable = version == "HTTP/1.1" and fields.get("connection", "").lower() != "close"
    if fields.get("transfer-encoding", "").lower() == "chunked":
        content = await _read_chunked(reader)
    elif "content-length" in fields:
        content = await reader.readexactly(int(fields["content-length"]))
    else:
        content, reusable = await reader.read(), False
    return Answer(status_code, content), reusable


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailer fields, then the empty line
        pass
    return b"".join(chunks)


async def _send(
    http: Connections,
    api_key: str,
    item: StreamItem,
    report: DriveReport,
    deadline: float,
) -> None:
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Idempotency-Key": item.item_id,
        "Content-Type": "application/json",
    }
    content = json.dumps(item.body).encode()
    give_up = time.monotonic() + deadline
    pause = 0.1
    while True:
        try:
            answer = await http.post(PATHS[item.kind], content, headers)
            report.answers[answer.status_code] += 1
        except TransportError:
            answer = None
            report.transport_errors += 1
        if answer is not None and answer.status_code == 202:
            report.accepted[item.item_id] = answer.json()["id"]
            report.accepted_at[item.item_id] = time.monotonic()
            return
        if answer is not None and answer.status_code not in RETRYABLE:
            report.rejected[item.item_id] = f"{answer.status_code}: {answer.text[:200]}"
            return
        if time.monotonic() > give_up:
            report.rejected[item.item_id] = "deadline passed while the service was unavailable"
            return
        report.retries += 1
        await asyncio.sleep(pause)
        pause = min(2.0, pause * 2)


async def _send_batch(
    http: Connections,
    api_key: str,
    batch: Sequence[StreamItem],
    report: DriveReport,
    deadline: float,
) -> None:
    """One batch, resent whole (the same Idempotency-Key, so the same event ids) until every item is answered:
    a 503 means some item was not stored, and the service stored nothing of that answer."""
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Idempotency-Key": f"{batch[0].item_id}-{len(batch)}",  # no two batches share a first item
        "Content-Type": "application/json",
    }
    content = json.dumps({"events": [{"type": BATCH_TYPES[i.kind], "data": i.body} for i in batch]}).encode()
    give_up = time.monotonic() + deadline
    pause = 0.1
    while True:
        try:
            answer = await http.post("/v1/events:batch", content, headers)
            report.answers[answer.status_code] += 1
        except TransportError:
            answer = None
            report.transport_errors += 1
        if answer is not None and answer.status_code == 200:
            now = time.monotonic()
            for item, result in zip(batch, answer.json()["results"], strict=True):
                if result["status"] == "accepted":
                    report.accepted_in_batches += 1
                    report.accepted[item.item_id] = result["id"]
                    report.accepted_at[item.item_id] = now
                else:
                    report.rejected[item.item_id] = f"{result['status']}: {result.get('errors')}"
            return
        if answer is not None and answer.status_code not in RETRYABLE:
            for item in batch:
                report.rejected[item.item_id] = f"{answer.status_code}: {answer.text[:200]}"
            return
        if time.monotonic() > give_up:
            for item in batch:
                report.rejected[item.item_id] = "deadline passed while the service was unavailable"
            return
        report.retries += 1
        await asyncio.sleep(pause)
        pause = min(2.0, pause * 2)
