"""Scoring and replay throughput: the real service and the real replay command, as processes."""

import asyncio
import functools
import os
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from bench.kafka_io import fresh_name, wait_until_consumed
from devstack import processes
from devstack.waiting import port_in_use, wait_until

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent


REPLAY_LINE = re.compile(r"replay: (?P<records>\d+) records in (?P<seconds>[\d.]+) s")


async def scoring_throughput(
    env: Mapping[str, str], topics: list[str], expected: int, port: int, log_dir: Path, replicas: int = 1
) -> tuple[float, float]:
    """(events per second, peak RSS in MiB of the largest replica) of ``replicas`` scoring processes in one
    consumer group draining ``expected`` preloaded events with every delivery guarantee on (a group of their
    own and a fresh database)."""
    group = fresh_name("bench-scoring")
    child_env = {
        **os.environ,
        **env,
        "SCORING_GROUP_ID": group,
        "MONGODB_DATABASE": group.replace("-", "_"),
        "LOG_LEVEL": "WARNING",
    }
    launched = time.monotonic()
    records, pid_files = [], []
    try:
        for replica in range(replicas):
            name = f"{group}-{replica}"
            pid_files.append(log_dir / f"{name}.pid")
            records.append(
                processes.spawn(
                    [sys.executable, "-m", "services.scoring"],
                    log_path=log_dir / f"{name}.log",
                    pid_path=pid_files[-1],
                    env={
                        **child_env,
                        "SCORING_PORT": str(port + replica),
                        "INSTANCE_ID": f"scoring-{replica}",
                    },
                    cwd=REPO,
                    address=f"http://127.0.0.1:{port + replica}",
                )
            )
        first, by_first, done = await unless_any_exits(
            records,
            log_dir,
            wait_until_consumed(env["KAFKA_BOOTSTRAP_SERVERS"], group, topics, expected, within=900),
        )
        # The records committed after the first progress was seen, over the time they took (the first commit
        # is a batch already done). A stream small enough to go in one poll shows no progress before it is done:
        # that one is timed from launch.
        rate = (expected - by_first) / (done - first) if done > first else expected / (done - launched)
        return rate, max(peak_rss(record.pid) for record in records)
    finally:
        processes.stop(pid_files, timeout=15)


@contextmanager
def running(
    name: str, cmd: Sequence[str], env: Mapping[str, str], port: int, log_dir: Path, ready_path: str | None
) -> Iterator[processes.PidRecord]:
    """A server process for the length of the block: started, awaited (GET ``ready_path`` answers 200, or
    the port accepts connections when None), stopped by its pid afterwards."""
    from devstack.services import is_ready

    log, pid_file = log_dir / f"{name}.log", log_dir / f"{name}.pid"
    record = processes.spawn(
        list(cmd),
        log_path=log,
        pid_path=pid_file,
        env={**os.environ, **env},
        cwd=REPO,
        address=f"http://127.0.0.1:{port}",
    )
    try:
        check = (
            functools.partial(is_ready, port)
            if ready_path == "/readyz"
            else functools.partial(port_in_use, port)
        )
        wait_until(check, what=name, timeout=60, log_path=log, alive=lambda: processes.is_running(record))
        yield record
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


async def unless_any_exits(records: Sequence[processes.PidRecord], log_dir: Path, waiting: Awaitable[T]) -> T:
    """``waiting``'s result; a RuntimeError naming the logs if a process exits first (it failed to start)."""
    task = asyncio.ensure_future(waiting)
    while not task.done():
        if not all(processes.is_running(record) for record in records):
            task.cancel()
            raise RuntimeError(f"scoring exited during the bench; its logs are in {log_dir}")
        await asyncio.wait([task], timeout=0.5)
    return task.result()
