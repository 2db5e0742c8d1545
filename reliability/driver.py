"""Sends the stream to the feedback service at a chosen rate, as an integrating system should.

Each request carries an Idempotency-Key that is the item's own id, so a request retried after a timeout, a
5xx, a 429 or a dropped connection (the service was killed mid-request) is the same request and becomes one
event. The driver sends in stream order, one request at a time, and never gives up on an item before its
deadline: what it reports as accepted is exactly what the platform promised to keep.
"""

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from reliability.stream import StreamItem

PATHS = {"session": "/v1/sessions", "feedback": "/v1/feedback"}
# 409: the first request with this Idempotency-Key is still running (or died mid-way and its claim has not
# expired yet): the same request, tried again later.
RETRYABLE = {409, 429, 500, 502, 503, 504}


@dataclass
class DriveReport:
    accepted: dict[str, str] = field(default_factory=dict)  # item id -> event id
    accepted_at: dict[str, float] = field(default_factory=dict)  # item id -> time.monotonic()
    rejected: dict[str, str] = field(default_factory=dict)  # item id -> reason
    retries: int = 0
    seconds: float = 0.0


async def drive(
    feedback_url: str,
    api_keys: Mapping[str, str],
    items: Sequence[StreamItem],
    rate: float,
    item_deadline: float = 120.0,
    progress_every: int = 200,
    report: DriveReport | None = None,
) -> DriveReport:
    """``report`` (given by a caller that watches progress) fills as items are accepted."""
    report = report if report is not None else DriveReport()
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=feedback_url, timeout=10) as http:
        for number, item in enumerate(items):
            await asyncio.sleep(max(0.0, started + number / rate - time.monotonic()))
            await _send(http, api_keys[item.clinic_id], item, report, item_deadline)
            if progress_every and (number + 1) % progress_every == 0:
                print(f"  sent {number + 1}/{len(items)} ({report.retries} retries)", flush=True)
    report.seconds = time.monotonic() - started
    return report


async def _send(
    http: httpx.AsyncClient, api_key: str, item: StreamItem, report: DriveReport, deadline: float
) -> None:
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": item.item_id}
    give_up = time.monotonic() + deadline
    pause = 0.1
    while True:
        try:
            answer = await http.post(PATHS[item.kind], json=item.body, headers=headers)
        except httpx.TransportError:
            answer = None
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
