"""Scoring and replay throughput: the real service and the real replay command, as processes."""

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import TypeVar

from bench.kafka_io import fresh_name, wait_until_consumed
from devstack import processes

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent
REPLAY_LINE = re.compile(r"replay: (?P<records>\d+) records in (?P<seconds>[\d.]+) s")


async def scoring_throughput(
    env: Mapping[str, str], topics: list[str], expected: int, port: int, log_dir: Path
) -> tuple[float, float]:
    """(events per second, peak RSS in MiB) of one scoring process draining ``expected`` preloaded events with
    every delivery guarantee on (its own consumer group and a fresh database)."""
    group = fresh_name("bench-scoring")
    child_env = {
        **os.environ,
        **env,
        "SCORING_GROUP_ID": group,
        "MONGODB_DATABASE": group.replace("-", "_"),
        "SCORING_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    log = log_dir / f"{group}.log"
    pid_file = log_dir / f"{group}.pid"
    launched = time.monotonic()
    record = processes.spawn(
        [sys.executable, "-m", "services.scoring"],
        log_path=log,
        pid_path=pid_file,
        env=child_env,
        cwd=REPO,
        address=f"http://127.0.0.1:{port}",
    )
    try:
        first, done = await _unless_it_exits(
            record,
            log,
            wait_until_consumed(env["KAFKA_BOOTSTRAP_SERVERS"], group, topics, expected, within=900),
        )
        # A stream small enough to go in one poll shows no progress before it is done: time it from launch.
        elapsed = done - first if done > first else done - launched
        return expected / elapsed, peak_rss(record.pid)
    finally:
        processes.stop([pid_file], timeout=15)


def replay_throughput(env: Mapping[str, str], expected: int) -> float:
    """Events per second of `python -m services.scoring.replay` rebuilding a fresh database from the topics,
    from its first record read to its last client written (the figure it prints): like the ceiling, the
    process start-up and the Kafka connection are not counted."""
    database = fresh_name("bench_replay").replace("-", "_")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.scoring.replay",
            "--database",
            database,
            "--progress-every",
            "10000000",
        ],
        env={**os.environ, **env, "LOG_LEVEL": "WARNING"},
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    found = REPLAY_LINE.search(done.stderr)
    if found is None:
        raise RuntimeError(f"replay printed no throughput line:\n{done.stderr[-2000:]}")
    records, seconds = int(found["records"]), float(found["seconds"])
    if records < expected:
        raise RuntimeError(f"replay read {records} records, expected at least {expected}")
    return records / seconds


def peak_rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):  # the high-water mark of resident memory
            return int(line.split()[1]) / 1024
    return float("nan")


async def _unless_it_exits(record: processes.PidRecord, log: Path, waiting: Awaitable[T]) -> T:
    """``waiting``'s result; a RuntimeError naming the log if the process exits first (it failed to start)."""
    task = asyncio.ensure_future(waiting)
    while not task.done():
        if not processes.is_running(record):
            task.cancel()
            raise RuntimeError(f"scoring exited during the bench; its log: {log}")
        await asyncio.wait([task], timeout=0.5)
    return task.result()
