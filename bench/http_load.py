"""HTTP load from `wrk` (native, so the generator is not what is measured): the worker's /healthz floor,
`POST /v1/feedback`, the batch endpoint, the bare intake ceiling, and end-to-end alert latency at a fixed
arrival rate. The Lua scripts are in bench/wrk/; each prints one JSON line of figures."""

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from bench.stats import percentile
from tests.support.webhook_receiver import WebhookReceiver

SCRIPTS = Path(__file__).resolve().parent / "wrk"


class LoadError(RuntimeError):
    """wrk saw failed requests: a figure over errors would be no figure."""


def wrk(
    url: str,
    script: str,
    *,
    seconds: float,
    connections: int,
    env: Mapping[str, str] | None = None,
    threads: int = 1,
) -> dict[str, float]:
    """One wrk run: requests/s, latency percentiles in ms, and the script's own count (``counted``).

    One wrk thread by default: it drives thousands of requests a second and leaves the other core to the
    server under test on this 2-core machine."""
    binary = shutil.which("wrk")
    if binary is None:
        raise LoadError("wrk is not installed (make bench installs Debian's wrk)")
    done = subprocess.run(
        [
            binary,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "30s",
            "-s",
            script,
            url,
        ],
        cwd=SCRIPTS,
        env={**os.environ, "BENCH_THREADS": str(threads), **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("{")), None)
    if line is None:
        raise LoadError(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")
    found = json.loads(line)
    if found["status_errors"] or found["socket_errors"]:
        raise LoadError(
            f"{url} with {script}: {found['status_errors']} error answers, "
            f"{found['socket_errors']} socket errors\n{done.stdout}"
        )
    elapsed = found["duration_us"] / 1e6
    return {
        "rps": found["requests"] / elapsed,
        "requests": found["requests"],
        "p50_ms": found["p50_us"] / 1000,
        "p95_ms": found["p95_us"] / 1000,
        "p99_ms": found["p99_us"] / 1000,
        "counted": found["counted"],
    }


def healthz_rate(url: str, seconds: float, connections: int) -> dict[str, float]:
    return wrk(f"{url}/healthz", "healthz.lua", seconds=seconds, connections=connections)


def feedback_rate(url: str, api_key: str, seconds: float, connections: int) -> dict[str, float]:
    """POST /v1/feedback as fast as it answers, every request a new client's healthy rating."""
    env = {"BENCH_API_KEY": api_key, "BENCH_TAG": f"r{uuid.uuid4().hex[:6]}"}
    return wrk(url, "feedback.lua", seconds=seconds, connections=connections, env=env)


def batch_rate(
    url: str, api_key: str, seconds: float, connections: int, items: int = 500
) -> dict[str, float]:
    """POST /v1/events:batch of ``items`` new clients' ratings; ``items_per_s`` is the figure."""
    env = {"BENCH_API_KEY": api_key, "BENCH_TAG": f"b{uuid.uuid4().hex[:6]}", "BENCH_ITEMS": str(items)}
    found = wrk(url, "batch.lua", seconds=seconds, connections=connections, env=env)
    return {**found, "items_per_s": found["rps"] * items}


def ceiling_rate(url: str, seconds: float, connections: int) -> dict[str, float]:
    """The bare intake ceiling (bench/intake_ceiling.py) under the same bodies as POST /v1/feedback."""
    env = {"BENCH_TAG": f"c{uuid.uuid4().hex[:6]}"}
    return wrk(url, "feedback.lua", seconds=seconds, connections=connections, env=env)


def end_to_end_latency(
    url: str,
    api_key: str,
    receiver: WebhookReceiver,
    rate: float,
    seconds: float,
    alert_every: int = 10,
    connections: int = 64,
) -> dict[str, float]:
    """Send feedback at a fixed ``rate`` per second, one in ``alert_every`` a low rating that raises an alert
    (the rest healthy); latency from each alerting POST to its webhook call.

    One in ten by default: routine feedback systems aim to flag around one case in ten (DOMAIN.md). wrk
    puts the time each alerting request was sent (wall clock, ms) in its client id."""
    tag = f"e{uuid.uuid4().hex[:6]}"
    env = {
        "BENCH_API_KEY": api_key,
        "BENCH_TAG": tag,
        "BENCH_RATE": f"{rate:g}",
        "BENCH_ALERT_EVERY": str(alert_every),
    }
    found = wrk(url, "feedback.lua", seconds=seconds, connections=connections, env=env)
    sent = int(found["counted"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_arrivals(receiver, tag)) < sent:
        time.sleep(0.1)  # the receiver records calls from its own thread
    arrivals = _arrivals(receiver, tag)
    latencies = [arrived - sent_at for sent_at, arrived in arrivals.values()]
    return {
        "rate": rate,
        "achieved_rate": found["rps"],
        "sent": sent,  # alerting requests; the healthy ones are not counted here
        "delivered": len(latencies),
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "http_p99_ms": found["p99_ms"],
    }


def _arrivals(receiver: WebhookReceiver, tag: str) -> dict[str, tuple[float, float]]:
    """(sent, arrived) in wall-clock ms for each alert of this run; the receiver stamps calls on the
    monotonic clock, turned into wall-clock time here."""
    wall_offset = time.time() - time.monotonic()
    found = {}
    for call in list(receiver.calls):
        client_id = str(call.body.get("client_id", ""))
        if client_id.startswith(f"{tag}-a"):
            sent_ms = float(client_id.rsplit("-", 1)[1])
            found[client_id] = (sent_ms, (call.received_at + wall_offset) * 1000)
    return found
