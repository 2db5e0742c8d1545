"""HTTP load: feedback intake throughput on one worker, and end-to-end latency at a fixed arrival rate."""

import asyncio
import time
import uuid

import httpx

from bench.stats import percentile
from bench.workload import low_srs_feedback
from tests.support.webhook_receiver import WebhookReceiver

HEALTHY = {"relationship": 9.5, "goals": 9.5, "approach": 9.5, "overall": 9.5}


async def intake_throughput(url: str, api_key: str, requests: int, concurrency: int) -> dict[str, float]:
    """Requests per second and latency percentiles (ms) of POST /v1/feedback, ``concurrency`` at a time."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(requests):
        queue.put_nowait(number)
    tag = uuid.uuid4().hex[:6]

    async def worker(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            number = queue.get_nowait()
            body = {**low_srs_feedback(f"load-{tag}-{number}", f"s-{number}"), "items": HEALTHY}
            started = time.perf_counter()
            answer = await http.post("/v1/feedback", json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {api_key}"}, limits=limits, timeout=30
    ) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "rps": requests / elapsed,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
    }


async def end_to_end_latency(
    url: str, api_key: str, receiver: WebhookReceiver, rate: float, seconds: float, alert_share: float = 0.1
) -> dict[str, float]:
    """Send feedback at ``rate`` per second, of which ``alert_share`` is a low SRS that raises an alert (the
    rest is healthy); latency from each alerting POST to its webhook call.

    A tenth by default: routine feedback systems aim to flag around one case in ten (DOMAIN.md).
    """
    tag = uuid.uuid4().hex[:6]
    sent_at: dict[str, float] = {}
    total = int(rate * seconds)
    every = max(1, round(1 / alert_share))
    count = len(range(0, total, every))

    async def send(http: httpx.AsyncClient, number: int) -> None:
        client_id = f"e2e-{tag}-{number}"
        body = low_srs_feedback(client_id, f"s-{number}")
        if number % every:
            body = {**body, "items": HEALTHY}
        else:
            sent_at[client_id] = time.monotonic()
        (await http.post("/v1/feedback", json=body)).raise_for_status()

    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    ) as http:
        start = time.monotonic()
        tasks = []
        for number in range(total):  # a fixed arrival rate, whatever the answers' speed
            await asyncio.sleep(max(0.0, start + number / rate - time.monotonic()))
            tasks.append(asyncio.create_task(send(http, number)))
        await asyncio.gather(*tasks)
    deadline = time.monotonic() + 60
    # The receiver records calls from its own thread; polling it is the simple bridge.
    while time.monotonic() < deadline and len(_arrivals(receiver, tag)) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    arrivals = _arrivals(receiver, tag)
    latencies = [(arrivals[c] - sent_at[c]) * 1000 for c in arrivals if c in sent_at]
    return {
        "rate": rate,
        "sent": count,  # alerting requests; the healthy ones are not counted here
        "delivered": len(latencies),
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
    }


def _arrivals(receiver: WebhookReceiver, tag: str) -> dict[str, float]:
    return {
        call.body["client_id"]: call.received_at
        for call in receiver.calls
        if str(call.body.get("client_id", "")).startswith(f"e2e-{tag}-")
    }
