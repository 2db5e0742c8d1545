"""The platform under test: the three services as real processes of one devstack profile, plus what faults need.

``kill`` sends SIGKILL to a service's process group (no shutdown hook runs: the harshest crash there is);
``restart`` starts it again with the same environment and waits for ``/readyz``. Extra processes (a second
scoring replica) get pid files of their own and are stopped by ``stop_extras``. Nothing is ever stopped by
name: only by the pid files this code wrote.
"""

import asyncio
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx

from devstack import processes
from devstack.errors import StackError
from devstack.layout import REPO_ROOT
from devstack.services import SERVICES, is_ready, service_url
from devstack.stack import Stack
from devstack.waiting import wait_until
from services.feedback.admin import issue_key
from services.feedback.settings import FeedbackSettings
from shared.auth import Scope

MODULES = {service.name: service.module for service in SERVICES}
WEBHOOK_SECRET = "reliability-webhook-secret"
ACK_SECRET = "reliability-ack-secret"
LINK_SECRET = "reliability-feedback-link-secret"
CLIENT_PAGE_SECRET = "reliability-client-page-secret"


@dataclass(frozen=True)
class ClinicKeys:
    ingest: str
    read: str
    admin: str


@dataclass
class Platform:
    stack: Stack
    env: dict[str, str]
    keys: dict[str, ClinicKeys] = field(default_factory=dict)
    extras: dict[str, Path] = field(default_factory=dict)  # name -> pid file, stopped after each scenario
    replicas: dict[str, int] = field(default_factory=dict)  # name -> port, second replicas for the whole run
    restarts: int = 0

    @property
    def database(self) -> str:
        return self.env["MONGODB_DATABASE"]

    def url(self, service: str) -> str:
        return service_url(self.stack.service_port(service))

    @property
    def log_dir(self) -> Path:
        return self.stack.paths.log("x").parent

    # ---- processes ---------------------------------------------------------------------------------

    def start(self) -> None:
        for attempt in range(1, 4):
            try:
                self.stack.start_services(self.env)
                return
            except StackError as error:
                if attempt == 3 or "address already in use" not in str(error):
                    raise
                for service in SERVICES:
                    wait_bindable(self.stack.service_port(service.name))

    def pid_of(self, name: str) -> int:
        path = self.extras.get(name) or self.stack.paths.pidfile(name)
        record = processes.live_record(path)
        if record is None:
            raise RuntimeError(f"{name} is not running")
        return record.pid

    def kill(self, name: str) -> None:
        kill(self.extras.get(name) or self.stack.paths.pidfile(name), name)

    def restart(
        self, name: str, port: int | None = None, extra_env: Mapping[str, str] | None = None
    ) -> float:
        """Start service ``name`` (``scoring-2``: another scoring replica) and wait until ready; seconds taken."""
        service = name.split("-")[0]
        port = port or self.stack.service_port(service)
        env = self.stack.service_env({**self.env, **(extra_env or {})})
        env[next(s.port_env for s in SERVICES if s.name == service)] = str(port)
        env["INSTANCE_ID"] = name  # restarted under its name, a replica takes its partitions back at once
        pid_path = self.extras.get(name) or self.stack.paths.pidfile(name)
        started = time.monotonic()
        for attempt in range(1, 6):
            wait_bindable(port)
            self.restarts += 1
            log_path = self.stack.paths.log(f"{name}.restart{self.restarts}")
            processes.spawn(
                [sys.executable, "-m", MODULES[service]],
                log_path=log_path,
                pid_path=pid_path,
                env=env,
                cwd=REPO_ROOT,
                address=service_url(port),
            )
            try:
                wait_until(
                    partial(listening_and_ready, port),
                    what=f"{name} on port {port}",
                    timeout=120,
                    log_path=log_path,
                    alive=lambda: processes.live_record(pid_path) is not None,
                )
                break
            except StackError:
                # The port lies in the kernel's ephemeral range: while the service was down, an outgoing
                # connection of another process may have been given it as its local port. Try again.
                if attempt == 5 or "address already in use" not in log_path.read_text():
                    raise
                time.sleep(0.5)
        return time.monotonic() - started

    def start_extra(self, name: str, port: int, extra_env: Mapping[str, str] | None = None) -> None:
        self.extras[name] = self.stack.paths.pidfile(name)
        self.restart(name, port, extra_env)

    def stop_extras(self) -> None:
        processes.stop(list(self.extras.values()), timeout=10)
        self.extras.clear()

    def start_replica(self, name: str, port: int) -> None:
        """A second replica (``scoring-2``) that stays for every scenario of the run, as in production."""
        self.replicas[name] = port
        self.restart(name, port)

    def service_replicas(self) -> list[str]:
        """Every service process: the stack's three, then the second replicas."""
        return [*(service.name for service in SERVICES), *self.replicas]

    def stop_one(self, name: str) -> None:
        """SIGTERM one service replica, as an upgrade does: it drains and commits before it exits."""
        processes.stop([self.stack.paths.pidfile(name)], timeout=self.stack.stop_timeout)

    def restart_replica(self, name: str) -> float:
        return self.restart(name, self.replicas.get(name))

    def stop(self) -> None:
        self.stop_extras()
        processes.stop([self.stack.paths.pidfile(name) for name in self.replicas], timeout=10)
        self.stack.stop(only=[service.name for service in SERVICES])

    # ---- clinics and keys --------------------------------------------------------------------------

    async def issue_keys(self, clinics: list[str]) -> None:
        """An ingest, a read and an admin key per clinic (services.feedback.admin.issue_key), then wait
        until every service knows them."""
        settings = FeedbackSettings(kafka_bootstrap_servers=self.env["KAFKA_BOOTSTRAP_SERVERS"])
        for clinic in clinics:
            keys = ClinicKeys(*(f"rel-{scope}-{clinic}-{uuid.uuid4().hex}" for scope in Scope))
            for api_key, scope in zip((keys.ingest, keys.read, keys.admin), Scope, strict=True):
                await issue_key(settings, clinic, api_key, frozenset({scope}))
            self.keys[clinic] = keys
        await self.wait_for_keys(clinics)

    async def wait_for_keys(self, clinics: list[str], within: float = 60.0) -> None:
        probes = [
            (self.url("scoring"), "/v1/clinic/settings", "read"),
            (self.url("notify"), "/v1/routing", "admin"),
        ]
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=5) as http:
            for clinic in clinics:
                for base, path, scope in probes:
                    key = getattr(self.keys[clinic], scope)
                    while (
                        await http.get(base + path, headers={"Authorization": f"Bearer {key}"})
                    ).status_code == 401:
                        if time.monotonic() > deadline:
                            raise TimeoutError(f"{base} does not know the keys of {clinic}")
                        await asyncio.sleep(0.2)


def listening(port: int) -> bool:
    """Is a socket listening on 127.0.0.1:``port``? Read from /proc, without connecting."""
    wanted = f"0100007F:{port:04X}"
    for table in ("/proc/net/tcp",):
        with open(table) as rows:
            for row in rows.readlines()[1:]:
                fields = row.split()
                if fields[1] == wanted and fields[3] == "0A":
                    return True
    return False


def listening_and_ready(port: int) -> bool:
    """Only probe /readyz once something listens. The ports sit in the kernel's ephemeral range, and a
    connect to a port nobody listens on can be given that very port as its source (a TCP self-connect),
    which then keeps the service from binding it."""
    return listening(port) and is_ready(port)


def wait_bindable(port: int, within: float = 90.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + within
    while True:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
                return
            except OSError as error:
                if time.monotonic() > deadline:
                    raise OSError(
                        error.errno, f"{error.strerror}: {host}:{port} held by {holders(host, port)}"
                    ) from error
        time.sleep(0.5)


TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
              7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING"}  # fmt: skip


def holders(host: str, port: int) -> list[str]:
    """The sockets bound to ``host:port``: their state and peer, to say why a bind fails. Java's sockets are
    IPv6 ones holding IPv4-mapped addresses (/proc/net/tcp6), Python's plain IPv4 ones (/proc/net/tcp)."""
    ipv4 = socket.inet_aton(host)[::-1].hex().upper()
    mapped = "0000000000000000FFFF0000" + ipv4  # ::ffff:a.b.c.d, in /proc's 32-bit words, host byte order
    wanted = {f"{ipv4}:{port:04X}", f"{mapped}:{port:04X}"}
    found: list[str] = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in rows.readlines()[1:]:
                fields = row.split()
                if fields[1] in wanted:
                    found.append(f"{TCP_STATES.get(int(fields[3], 16), fields[3])} to {fields[2]}")
    return found


def kill(pid_path: Path, name: str) -> None:
    """SIGKILL the process group of ``pid_path``'s process, then wait until it is gone (its ports free again)."""
    record = processes.live_record(pid_path)
    if record is None:
        raise RuntimeError(f"{name} is not running")
    os.killpg(record.pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while processes.is_running(record):
        processes.live_record(pid_path)  # reaps our own child
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} (pid {record.pid}) survived SIGKILL")
        time.sleep(0.05)
    pid_path.unlink(missing_ok=True)


def restart_infra(stack: Stack, *processes: str) -> None:
    """``stack.start_infra()`` after ``processes`` (Kafka nodes or mongods: ``kafka``, ``mongod-2``) were
    stopped, which starts every one of them again on its node's address and waits until the whole stack serves.
    Several processes down at once are restarted by one call: a second call would find its process already
    started by the first, its port taken by its own listener. Retried while a port is taken by a TCP
    self-connect of a client that kept reconnecting (see ``listening_and_ready``)."""
    addresses: list[tuple[str, int]] = []
    for process in processes:
        node = stack.node(process)
        if process == node.kafka:
            addresses += [(node.host, stack.ports.kafka), (node.host, stack.ports.kafka_controller)]
        else:
            addresses.append((node.host, stack.ports.mongo))
    for attempt in range(1, 6):
        for host, port in addresses:
            wait_bindable(port, host=host)
        try:
            stack.start_infra()
            return
        except StackError as error:
            if attempt == 5 or "already in use" not in str(error).lower():
                raise
            time.sleep(0.5)


def platform_env(
    stack: Stack,
    webhook_url: str,
    tag: str,
    smtp_port: int,
    kafka_bootstrap: str | None = None,
    mongodb_uri: str | None = None,
) -> dict[str, str]:
    """Everything the services need for a reliability run: the servers (the stack's unless given), a
    database and consumer groups of this run only, short delivery backoff, and the alert sinks."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap or stack.kafka_bootstrap,
        "MONGODB_URI": mongodb_uri or stack.mongodb_uri,
        "MONGODB_DATABASE": f"rel_{tag}",
        "SCORING_GROUP_ID": f"rel-scoring-{tag}",
        "NOTIFY_GROUP_ID": f"rel-notify-{tag}",
        "FEEDBACK_GROUP_ID": f"rel-feedback-{tag}",
        "NOTIFY_WEBHOOK_URL": webhook_url,
        "NOTIFY_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "NOTIFY_ACK_SECRET": ACK_SECRET,
        "NOTIFY_SMTP_PORT": str(smtp_port),
        "NOTIFY_BACKOFF_INITIAL_SECONDS": "0.5",
        "NOTIFY_BACKOFF_MAX_SECONDS": "2",
        "NOTIFY_DELIVERY_ATTEMPTS": "10000",  # an outage must delay alerts, never fail them for good
        "NOTIFY_DELIVERY_LEASE_SECONDS": "10",
        "NOTIFY_WORKER_POLL_SECONDS": "0.2",
        "NOTIFY_WEBHOOK_TIMEOUT_SECONDS": "3",
        "NOTIFY_SMTP_TIMEOUT_SECONDS": "3",
        "FEEDBACK_RATE_LIMIT": "100000/minute",
        "FEEDBACK_LINK_SECRET": LINK_SECRET,
        "FEEDBACK_PUBLIC_URL": service_url(stack.service_port("feedback")),
        "SCORING_PUBLIC_URL": service_url(stack.service_port("scoring")),
        "NOTIFY_PUBLIC_URL": service_url(stack.service_port("notify")),
        "CLIENT_PAGE_SECRET": CLIENT_PAGE_SECRET,
        "SHUTDOWN_GRACE_SECONDS": "3",
        "LOG_LEVEL": "INFO",
    }
