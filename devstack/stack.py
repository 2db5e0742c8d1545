"""Stack: one profile's Kafka, mongod and services, started and stopped as tracked processes."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from devstack import install, jaeger, kafka, mongo, processes, topics
from devstack.errors import StackError
from devstack.layout import (
    CLUSTER_PROFILES,
    DEFAULT_ROOT,
    PROFILES,
    REPO_ROOT,
    Node,
    Ports,
    StackPaths,
    check_node_count,
    check_profile_name,
    default_ports,
    stack_nodes,
)
from devstack.services import SEED_ARGS, SERVICES, is_ready, service_url
from devstack.waiting import require_free_ports, wait_until
from shared.privacy.keys import KEKS_VARIABLE, new_kek
from shared.topics import ALL_TOPICS

JAEGER = "jaeger"


class ProcessStatus(NamedTuple):
    name: str
    pid: int | None
    running: bool
    address: str


def _print(line: str) -> None:
    print(line, flush=True)


class Stack:
    """One profile's local stack: one node, or a cluster of three (``nodes=3``), each node a loopback address
    with its Kafka node and its mongod. All state lives under ``<root>/<profile>`` (a cluster's under
    ``<root>/<profile>-cluster``; jars under ``<root>/kafka``)."""

    kafka_timeout = 90.0
    mongo_timeout = 60.0
    service_timeout = 60.0
    seed_timeout = 60.0
    stop_timeout = 15.0

    def __init__(
        self,
        profile: str = "dev",
        root: Path | None = None,
        *,
        nodes: int = 1,
        kafka_port: int | None = None,
        kafka_controller_port: int | None = None,
        mongo_port: int | None = None,
        service_ports: Mapping[str, int] | None = None,
        tracing: bool = False,
        say: Callable[[str], None] = _print,
    ) -> None:
        self.profile = check_profile_name(profile)
        self.nodes = stack_nodes(check_node_count(nodes))
        defaults = default_ports(profile, nodes)
        if defaults is None and None in (kafka_port, kafka_controller_port, mongo_port):
            known = ", ".join(PROFILES if nodes == 1 else CLUSTER_PROFILES)
            raise ValueError(f"unknown profile {profile!r} (known: {known}); pass all ports")
        base = defaults or Ports(0, 0, 0, 8001, 8002, 8003)
        extra = dict(service_ports or {})
        self.ports = Ports(
            kafka=kafka_port or base.kafka,
            kafka_controller=kafka_controller_port or base.kafka_controller,
            mongo=mongo_port or base.mongo,
            feedback=extra.get("feedback", base.feedback),
            scoring=extra.get("scoring", base.scoring),
            notify=extra.get("notify", base.notify),
        )
        self.paths = StackPaths((root or DEFAULT_ROOT).resolve(), profile, nodes)
        # Tracing on: Jaeger runs with the stack and the services export their spans to it.
        self.tracing = tracing
        self.jaeger_ports = jaeger.JaegerPorts.beside(self.ports.feedback)
        self.say = say

    @classmethod
    def above(
        cls,
        port_base: int,
        profile: str,
        *,
        nodes: int = 1,
        tracing: bool = False,
        say: Callable[[str], None] = _print,
    ) -> Stack:
        """A stack of ``profile`` whose ports sit just above ``port_base``: the services on +1 to +3, mongod on
        +17, Kafka on +92 and its controller on +93 (a cluster's on three loopback hosts), Jaeger's on +40 to +43."""
        return cls(
            profile=profile,
            nodes=nodes,
            kafka_port=port_base + 92,
            kafka_controller_port=port_base + 93,
            mongo_port=port_base + 17,
            service_ports={"feedback": port_base + 1, "scoring": port_base + 2, "notify": port_base + 3},
            tracing=tracing,
            say=say,
        )

    # ---- addresses -------------------------------------------------------------------------------

    @property
    def clustered(self) -> bool:
        return len(self.nodes) > 1

    @property
    def hosts(self) -> list[str]:
        return [node.host for node in self.nodes]

    @property
    def kafka_bootstrap(self) -> str:
        return ",".join(f"{host}:{self.ports.kafka}" for host in self.hosts)

    @property
    def mongodb_uri(self) -> str:
        return mongo.mongodb_uri(self.hosts, self.ports.mongo)

    def node(self, name: str) -> Node:
        """The node a Kafka or mongod process (``kafka-2``, ``mongod``) runs on."""
        found = next((n for n in self.nodes if name in (n.kafka, n.mongod)), None)
        if found is None:
            raise ValueError(f"{name!r} is not a Kafka node or mongod of this stack")
        return found

    @property
    def kafka_names(self) -> list[str]:
        return [node.kafka for node in self.nodes]

    @property
    def mongod_names(self) -> list[str]:
        return [node.mongod for node in self.nodes]

    def service_port(self, name: str) -> int:
        port: int = getattr(self.ports, name)
        return port

    # ---- install ---------------------------------------------------------------------------------

    def ensure_installed(self, *, kafka: bool = True, mongo: bool = True) -> None:
        """Fetch the Kafka jars and install mongod, each only the first time."""
        with _locked(self.paths.install_lock):
            if kafka:
                install.java_executable()  # fail early and clearly if Java is missing
                install.ensure_kafka_jars(self.paths.kafka_libs, self.say)
            if mongo:
                install.ensure_mongod(self.say)
            if self.tracing:
                jaeger.ensure_jaeger(self.paths.root, self.say)

    # ---- infrastructure --------------------------------------------------------------------------

    def start_infra(self, *, kafka: bool = True, mongo: bool = True) -> list[str]:
        """Start every node's mongod and Kafka (reusing live ones), wait until all serve, create the topics.

        Returns the names of the processes this call started (not the reused ones), so a caller
        can stop exactly what it started. On failure, whatever this call started is stopped again.
        Restarting one stopped node of a cluster is this same call: the live ones are reused.
        """
        started: list[str] = []
        with _locked(self.paths.lock):
            # Check every port first, so a taken Kafka port does not cost a mongod start and stop.
            for node in self.nodes:
                if mongo and not self._alive(node.mongod):
                    require_free_ports(node.mongod, {"mongod": self.ports.mongo}, node.host)
                if kafka and not self._alive(node.kafka):
                    ports = {"broker": self.ports.kafka, "controller": self.ports.kafka_controller}
                    require_free_ports(node.kafka, ports, node.host)
            try:
                # Spawn all, then wait: their start-ups overlap.
                for node in self.nodes:
                    if mongo and self._spawn_mongod(node):
                        started.append(node.mongod)
                    if kafka and self._spawn_kafka(node):
                        started.append(node.kafka)
                if mongo:
                    self._wait_mongod()
                if kafka:
                    self._wait_kafka()
                    self.create_topics()
            except BaseException:
                self._stop_unlocked(started)  # never leave half a stack behind (Ctrl-C included)
                raise
        return started

    def start_jaeger(self) -> list[str]:
        """Start Jaeger (reusing a live one) and wait until it takes spans; returns ["jaeger"] if started here."""
        with _locked(self.paths.lock):
            if self._alive(JAEGER):
                return []
            ports = self.jaeger_ports
            require_free_ports(JAEGER, {"otlp": ports.otlp_http, "ui": ports.ui, "health": ports.health})
            processes.spawn(
                jaeger.command(self.paths.root),
                log_path=self.paths.log(JAEGER),
                pid_path=self.paths.pidfile(JAEGER),
                env={**os.environ, **ports.environment()},
                address=ports.ui_url,
            )
            try:
                waited = wait_until(
                    functools.partial(jaeger.is_ready, ports),
                    what=f"jaeger (health on port {ports.health})",
                    timeout=self.service_timeout,
                    log_path=self.paths.log(JAEGER),
                    alive=functools.partial(self._alive, JAEGER),
                )
            except BaseException:
                self._stop_unlocked([JAEGER])
                raise
        self.say(f"jaeger ready: {ports.ui_url} ({waited:.1f} s)")
        return [JAEGER]

    def create_topics(self, bootstrap: str | None = None) -> None:
        """Create the topics of shared/topics.py on `bootstrap` (default: this stack's Kafka)."""
        replicas = 3 if self.clustered else 1
        report = topics.ensure_topics(bootstrap or self.kafka_bootstrap, ALL_TOPICS, replicas)
        if report.created:
            self.say(f"created topics: {', '.join(report.created)}")
        if report.grown:
            self.say(f"added partitions to: {', '.join(report.grown)}")

    def _spawn_mongod(self, node: Node) -> bool:
        pidfile = self.paths.pidfile(node.mongod)
        if processes.live_record(pidfile) is not None:
            self.say(f"{node.mongod} already running ({self._pid_text(node.mongod)}), reusing it")
            return False
        binary = install.ensure_mongod(self.say)
        dbpath = self.paths.mongo_data(node)
        dbpath.mkdir(parents=True, exist_ok=True)
        processes.spawn(
            mongo.mongod_command(binary, port=self.ports.mongo, dbpath=dbpath, host=node.host),
            log_path=self.paths.log(node.mongod),
            pid_path=pidfile,
            address=f"{node.host}:{self.ports.mongo}",
            group=node.group_id,
        )
        self.say(f"starting {node.mongod} on {node.host}:{self.ports.mongo}...")
        return True

    def _wait_mongod(self) -> None:
        names = self.mongod_names
        waited = wait_until(
            lambda: mongo.is_writable_primary(self.hosts, self.ports.mongo),
            what=f"{', '.join(names)} (replica set {mongo.REPLICA_SET}: a primary, every member up)",
            timeout=self.mongo_timeout,
            log_path=self.paths.log(names[0]),
            alive=lambda: all(self._alive(name) for name in names),
        )
        self.say(f"mongod ready: {self.mongodb_uri} ({waited:.1f} s)")

    def _spawn_kafka(self, node: Node) -> bool:
        pidfile = self.paths.pidfile(node.kafka)
        if processes.live_record(pidfile) is not None:
            self.say(f"{node.kafka} already running ({self._pid_text(node.kafka)}), reusing it")
            return False
        libs = self.paths.kafka_libs
        if not install.kafka_jars_ready(libs):
            raise StackError(f"Kafka jars missing in {libs}: run `python -m devstack install` first")
        props = self.paths.kafka_properties(node)
        props.parent.mkdir(parents=True, exist_ok=True)
        data_dir = self.paths.kafka_data(node)
        props.write_text(
            kafka.render_server_properties(
                port=self.ports.kafka,
                controller_port=self.ports.kafka_controller,
                data_dir=data_dir,
                node=node.number,
                hosts=self.hosts,
            )
        )
        if not kafka.is_formatted(data_dir):
            self.say(f"formatting {node.kafka} storage (first run of this profile only)...")
            cluster_id = self._cluster_id()
            kafka.format_storage(
                libs=libs,
                properties=props,
                cluster_id=cluster_id,
                data_dir=data_dir,
                controllers=kafka.initial_controllers(cluster_id, self.hosts, self.ports.kafka_controller)
                if self.clustered
                else None,
            )
        processes.spawn(
            kafka.server_command(libs=libs, properties=props),
            log_path=self.paths.log(node.kafka),
            pid_path=pidfile,
            address=f"{node.host}:{self.ports.kafka}",
            group=node.group_id,
        )
        self.say(f"starting {node.kafka} on {node.host}:{self.ports.kafka}...")
        return True

    def _cluster_id(self) -> str:
        """The profile's cluster id, created once and kept next to the data it formatted."""
        path = self.paths.cluster_id
        if path.is_file():
            return path.read_text().strip()
        cluster_id = kafka.new_cluster_id()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(cluster_id + "\n")
        return cluster_id

    def _wait_kafka(self) -> None:
        names = self.kafka_names
        waited = wait_until(
            lambda: topics.answers_metadata(self.kafka_bootstrap, brokers=len(names)),
            what=f"{', '.join(names)} on {self.kafka_bootstrap} (every broker registered)",
            timeout=self.kafka_timeout,
            log_path=self.paths.log(names[0]),
            alive=lambda: all(self._alive(name) for name in names),
            interval=0.5,
        )
        self.say(f"kafka ready: {self.kafka_bootstrap} ({waited:.1f} s)")

    # ---- services --------------------------------------------------------------------------------

    def service_env(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The services' environment: ours (so PATH, HOME... carry over), then this stack's addresses,
        ports and public URLs, then `env`, which wins (the CLI passes the caller's environment there)."""
        merged = dict(os.environ)
        merged["KAFKA_BOOTSTRAP_SERVERS"] = self.kafka_bootstrap
        merged["MONGODB_URI"] = self.mongodb_uri
        for service in SERVICES:
            merged[service.port_env] = str(self.service_port(service.name))
        merged["PYTHONUNBUFFERED"] = "1"  # log lines reach the log file as they happen
        if self.tracing:
            merged["OTEL_EXPORTER_OTLP_ENDPOINT"] = self.jaeger_ports.otlp_endpoint
        merged.update(env or {})
        if not merged.get(KEKS_VARIABLE):
            merged[KEKS_VARIABLE] = self.local_keks()
        for service in SERVICES:
            # Unless the caller says otherwise, browsers reach each service on the port it listens on.
            merged.setdefault(service.public_url_env, service_url(int(merged[service.port_env])))
        return merged

    def local_keks(self) -> str:
        """The local stack's own KEK, kept beside its data (a deployment sets ALLIANCE_KEKS itself)."""
        path = self.paths.local_keks
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"local-1:{new_kek()}\n")
            path.chmod(0o600)
        return path.read_text().strip()

    def start_services(self, env: Mapping[str, str] | None = None) -> None:
        """(Re)start the three services and wait for each /readyz to answer 200.

        Services already running for this profile are restarted, so code changes take effect.
        """
        child_env = self.service_env(env)
        names = [s.name for s in SERVICES]
        with _locked(self.paths.lock):
            self._stop_unlocked(names)
            ports = {s.name: int(child_env[s.port_env]) for s in SERVICES}
            require_free_ports("the services", ports)
            try:
                for service in SERVICES:
                    processes.spawn(
                        [sys.executable, "-m", service.module],
                        log_path=self.paths.log(service.name),
                        pid_path=self.paths.pidfile(service.name),
                        # One replica per service: its name is its stable name in the consumer groups.
                        env={**child_env, "INSTANCE_ID": service.name},
                        cwd=REPO_ROOT,
                        address=service_url(ports[service.name]),
                    )
                self.say(f"starting {', '.join(names)}...")
                for service in SERVICES:
                    port = ports[service.name]
                    waited = wait_until(
                        functools.partial(is_ready, port),
                        what=f"{service.name} (GET {service_url(port)}/readyz)",
                        timeout=self.service_timeout,
                        log_path=self.paths.log(service.name),
                        alive=functools.partial(self._alive, service.name),
                    )
                    self.say(f"{service.name} ready: {service_url(port)} ({waited:.1f} s)")
            except BaseException:
                self._stop_unlocked(names)
                raise

    def run_seed(self, env: Mapping[str, str] | None = None) -> None:
        """Create the demo clinic (python -m services.feedback.admin ensure-demo-clinic)."""
        cmd = [sys.executable, *SEED_ARGS]
        try:
            result = subprocess.run(
                cmd,
                env=self.service_env(env),
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=self.seed_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise StackError(
                f"seed `{' '.join(cmd[1:])}` did not finish within {self.seed_timeout:.0f} s"
            ) from exc
        output = (result.stdout + result.stderr).strip()
        if result.returncode != 0:
            raise StackError(f"seed `{' '.join(cmd[1:])}` failed (exit {result.returncode}):\n{output}")
        if output:
            self.say(output)

    # ---- stop and status -------------------------------------------------------------------------

    def stop(self, only: Iterable[str] | None = None) -> list[str]:
        """Stop this profile's processes (all, or just `only`): services, then Kafka, then mongod.

        SIGTERM, up to `stop_timeout` seconds, then SIGKILL. Returns the names actually stopped.
        """
        with _locked(self.paths.lock):
            return self._stop_unlocked(only)

    def _stop_unlocked(self, only: Iterable[str] | None = None) -> list[str]:
        wanted = set(self.names() if only is None else only)
        stopped: list[str] = []
        # Services together (they are independent), then Kafka's nodes, then the mongods; Jaeger last, so
        # that it still takes the spans the services send as they stop.
        groups = [[s.name for s in SERVICES], self.kafka_names, self.mongod_names, [JAEGER]]
        for group in groups:
            names = [n for n in group if n in wanted]
            paths = {self.paths.pidfile(n): n for n in names}
            done = processes.stop(paths, timeout=self.stop_timeout, on_kill=self._report_kill)
            stopped += [paths[p] for p in done]
        return stopped

    def _report_kill(self, pidfile: Path) -> None:
        self.say(f"{pidfile.stem} did not stop within {self.stop_timeout:.0f} s of SIGTERM; sending SIGKILL")

    def wipe(self) -> None:
        """Stop everything of this profile and delete its data: Kafka's log dirs and cluster id, MongoDB's files.

        The next start_infra() formats and initiates from scratch. Jars and the mongod install stay.
        """
        with _locked(self.paths.lock):
            self._stop_unlocked()
            for node in self.nodes:
                shutil.rmtree(self.paths.kafka_data(node), ignore_errors=True)
                shutil.rmtree(self.paths.mongo_data(node), ignore_errors=True)
            self.paths.cluster_id.unlink(missing_ok=True)

    @staticmethod
    def has_state(profile: str, nodes: int, root: Path | None = None) -> bool:
        """Has a stack of this profile and size ever been started here (its state directory exists)?"""
        return StackPaths((root or DEFAULT_ROOT).resolve(), profile, nodes).profile_dir.is_dir()

    def names(self) -> list[str]:
        """Every process this stack may run; Jaeger only where tracing was ever on (it has a pid file)."""
        traced = self.tracing or self.paths.pidfile(JAEGER).exists()
        return [
            *self.mongod_names,
            *self.kafka_names,
            *(s.name for s in SERVICES),
            *([JAEGER] if traced else []),
        ]

    def status(self) -> list[ProcessStatus]:
        """One row per managed process: (name, pid, running, address)."""
        rows: list[ProcessStatus] = []
        for name in self.names():
            record = processes.read_pidfile(self.paths.pidfile(name))
            running = record is not None and processes.is_running(record)
            rows.append(
                ProcessStatus(
                    name,
                    record.pid if record else None,
                    running,
                    record.address if record else self._address(name),
                )
            )
        return rows

    def _address(self, name: str) -> str:
        if name in self.kafka_names:
            return f"{self.node(name).host}:{self.ports.kafka}"
        if name in self.mongod_names:
            return f"{self.node(name).host}:{self.ports.mongo}"
        if name == JAEGER:
            return self.jaeger_ports.ui_url
        return service_url(self.service_port(name))

    def _alive(self, name: str) -> bool:
        record = processes.read_pidfile(self.paths.pidfile(name))
        return record is not None and processes.is_running(record)

    def _pid_text(self, name: str) -> str:
        record = processes.read_pidfile(self.paths.pidfile(name))
        return f"pid {record.pid}" if record else "no pid"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock, so two devstack commands never start or stop the same things at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        wait_started = time.monotonic()
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - wait_started > 300:
                    raise StackError(f"another devstack command holds {path} for over 5 minutes") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
