"""The feedback service as a real process with FEEDBACK_WORKERS=2: both workers answer on the one port, the
request budget of an API key holds across them, and a SIGTERM to the parent alone stops them all.

Which worker answered a request is read from /proc, not from anything the service sends: the server side of the
request's connection (found in /proc/net/tcp by the client's port) is a socket only one worker holds open.
"""

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from devstack import processes
from devstack.layout import REPO_ROOT
from devstack.services import is_ready
from devstack.waiting import wait_until
from services.feedback.admin import issue_key
from services.feedback.goals import goals_group
from shared.auth import Scope
from tests.integration.feedback.conftest import intake_settings, start_goals_at_end
from tests.integration.feedback.payloads import session
from tests.support.servers import Servers, free_port

pytestmark = pytest.mark.integration

WORKERS = 2
BUDGET = 20
REQUESTS = 50
ESTABLISHED = "01"  # a TCP state, as /proc/net/tcp writes it


@dataclass(frozen=True)
class Workers:
    parent: int
    workers: frozenset[int]
    port: int
    api_key: str
    log: Path
    goals_group: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass(frozen=True)
class Answer:
    status_code: int
    retry_after: str | None
    worker: int | None  # the pid of the worker that answered


def children(parent: int) -> dict[int, str]:
    """pid -> command line of every live child of ``parent``."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] not in ("Z", "X") and int(fields[1]) == parent:  # state, ppid
            found[int(entry.name)] = command
    return found


def worker_pids(parent: int) -> frozenset[int]:
    """uvicorn's workers among the parent's children (multiprocessing also starts a resource tracker)."""
    return frozenset(pid for pid, command in children(parent).items() if "spawn_main" in command)


def server_socket(port: int, client_port: int) -> str:
    """The inode of the server's end of the connection from ``client_port`` (as /proc/<pid>/fd names it)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1].split(":"), fields[2].split(":"), fields[3]
        if state == ESTABLISHED and int(local[1], 16) == port and int(remote[1], 16) == client_port:
            return f"socket:[{fields[9]}]"
    raise AssertionError(f"no connection from port {client_port} to port {port}")


def holder(socket: str, pids: frozenset[int]) -> int | None:
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == socket:
                    return pid
            except FileNotFoundError:
                continue
    return None


async def on_own_connection(running: Workers, method: str, path: str, **request: Any) -> Answer:
    """One request on a connection of its own (so the kernel hands each to whichever worker accepts first)."""
    async with (
        httpx.AsyncClient(base_url=running.url, timeout=30) as http,
        http.stream(method, path, **request) as response,
    ):
        client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
        worker = holder(server_socket(running.port, client_port), running.workers)
        await response.aread()
        return Answer(response.status_code, response.headers.get("Retry-After"), worker)


async def eventually(check: Callable[[], bool], what: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


@pytest.fixture
async def two_workers(servers: Servers, unique: str, tmp_path: Path) -> AsyncIterator[Workers]:
    settings = intake_settings(servers.kafka_bootstrap, servers.mongodb_uri, unique)
    api_key = f"key-{unique}-0123456789"
    await issue_key(settings, f"clinic-{unique}", api_key, frozenset({Scope.INGEST}))
    await start_goals_at_end(settings)
    port, log, pid_file = free_port(), tmp_path / "feedback.log", tmp_path / "feedback.pid"
    env = {
        # Dynamic membership: every consumer of the goals group is a member of its own.
        **{name: value for name, value in os.environ.items() if name != "INSTANCE_ID"},
        "KAFKA_BOOTSTRAP_SERVERS": servers.kafka_bootstrap,
        "MONGODB_URI": servers.mongodb_uri,
        "MONGODB_DATABASE": settings.mongodb_database,
        "FEEDBACK_GROUP_ID": settings.group_id,
        "FEEDBACK_PORT": str(port),
        "FEEDBACK_WORKERS": str(WORKERS),
        "FEEDBACK_RATE_LIMIT": f"{BUDGET}/hour",
        "PYTHONUNBUFFERED": "1",
    }
    record = processes.spawn(
        [sys.executable, "-m", "services.feedback"], log_path=log, pid_path=pid_file, env=env, cwd=REPO_ROOT
    )
    try:
        await asyncio.to_thread(
            wait_until,
            lambda: is_ready(port),
            what="feedback with two workers",
            timeout=90,
            log_path=log,
            alive=lambda: processes.is_running(record),
        )
        running = Workers(
            record.pid, worker_pids(record.pid), port, api_key, log, goals_group(settings.group_id)
        )
        assert len(running.workers) == WORKERS, children(record.pid)
        # /readyz answers as soon as one worker has started: the test's requests wait for both.
        await eventually(
            lambda: log.read_text().count("Application startup complete.") == WORKERS,
            "the second worker did not start",
            within=60,
        )
        yield running
    finally:
        processes.stop([pid_file])


async def test_two_workers_answer_and_share_one_request_budget(two_workers: Workers, unique: str) -> None:
    answers = await asyncio.gather(
        *(
            on_own_connection(
                two_workers, "POST", "/v1/sessions", json=session(f"c-{unique}-{n}"), headers=two_workers.auth
            )
            for n in range(REQUESTS)
        )
    )

    answered = Counter(answer.worker for answer in answers)
    assert set(answered) == two_workers.workers, answered  # each worker answered some
    accepted = [answer for answer in answers if answer.status_code == 202]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert len(accepted) == BUDGET, sorted(answer.status_code for answer in answers)
    assert len(refused) == REQUESTS - BUDGET
    assert all(answer.retry_after is not None and int(answer.retry_after) >= 1 for answer in refused)


async def test_one_worker_alone_reads_the_goals(servers: Servers, two_workers: Workers) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_consumer_groups([two_workers.goals_group])
    finally:
        await admin.close()
    _, _, state, _, _, members = described.groups[0][:6]
    # Every worker has started, and any consumer waits for its partitions before its worker starts.
    assert (state, len(members)) == ("Stable", 1)


async def test_a_sigterm_to_the_parent_alone_stops_every_worker(two_workers: Workers) -> None:
    os.kill(two_workers.parent, signal.SIGTERM)  # not its process group: as a container runtime does

    statuses: list[int] = []

    def exited() -> bool:
        pid, status = os.waitpid(two_workers.parent, os.WNOHANG)
        statuses.append(status)
        return pid != 0

    await eventually(exited, "the parent did not exit within 30 s of SIGTERM")
    assert os.waitstatus_to_exitcode(statuses[-1]) == 0
    # The parent waits for its workers: by the time it has exited, none is left, and each shut down its app
    # (the lifespan, where the Kafka producer drains) rather than being killed.
    assert all(processes.start_time_of(pid) is None for pid in two_workers.workers)
    assert two_workers.log.read_text().count("Application shutdown complete.") == WORKERS
