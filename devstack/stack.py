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

from devstack import install, kafka, mongo, processes, topics
from devstack.errors import StackError
from devstack.layout import DEFAULT_ROOT, PROFILES, REPO_ROOT, Ports, StackPaths, check_profile_name
from devstack.services import SEED_ARGS, SERVICES, is_ready, service_url
from devstack.waiting import require_free_ports, wait_until
from shared.topics import ALL_TOPICS

KAFKA = "kafka"
MONGOD = "mongod"
INFRA = (MONGOD, KAFKA)  # start order; stop goes the other way


class ProcessStatus(NamedTuple):
    name: str
    pid: int | None
    running: bool
    address: str


def _print(line: str) -> None:
    print(line, flush=True)


class Stack:
    """One profile's local stack. All state lives under ``<root>/<profile>`` (jars under ``<root>/kafka``)."""

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
        kafka_port: int | None = None,
        kafka_controller_port: int | None = None,
        mongo_port: int | None = None,
        service_ports: Mapping[str, int] | None = None,
        say: Callable[[str], None] = _print,
    ) -> None:
        self.profile = check_profile_name(profile)
        defaults = PROFILES.get(profile)
        if defaults is None and None in (kafka_port, kafka_controller_port, mongo_port):
            raise ValueError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)}); pass all ports")
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
        self.paths = StackPaths((root or DEFAULT_ROOT).resolve(), profile)
        self.say = say

    # ---- addresses -------------------------------------------------------------------------------

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports.kafka}"

    @property
    def mongodb_uri(self) -> str:
        return mongo.mongodb_uri(self.ports.mongo)

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

    # ---- infrastructure --------------------------------------------------------------------------

    def start_infra(self, *, kafka: bool = True, mongo: bool = True) -> list[str]:
        """Start mongod and Kafka (reusing live ones), wait until both serve, create the topics.

        Returns the names of the processes this call started (not the reused ones), so a caller
        can stop exactly what it started. On failure, whatever this call started is stopped again.
        """
        started: list[str] = []
        with _locked(self.paths.lock):
            # Check every port first, so a taken Kafka port does not cost a mongod start and stop.
            if mongo and not self._alive(MONGOD):
                require_free_ports("mongod", {"mongod": self.ports.mongo})
            if kafka and not self._alive(KAFKA):
                ports = {"broker": self.ports.kafka, "controller": self.ports.kafka_controller}
                require_free_ports("kafka", ports)
            try:
                # Spawn both, then wait: their start-ups overlap.
                if mongo and self._spawn_mongod():
                    started.append(MONGOD)
                if kafka and self._spawn_kafka():
                    started.append(KAFKA)
                if mongo:
                    self._wait_mongod()
                if kafka:
                    self._wait_kafka()
                    self.create_topics()
            except BaseException:
                self._stop_unlocked(started)  # never leave half a stack behind (Ctrl-C included)
                raise
        return started

    def create_topics(self, bootstrap: str | None = None) -> None:
        """Create the topics of shared/topics.py on `bootstrap` (default: this stack's Kafka)."""
        report = topics.ensure_topics(bootstrap or self.kafka_bootstrap, ALL_TOPICS)
        if report.created:
            self.say(f"created topics: {', '.join(report.created)}")
        if report.grown:
            self.say(f"added partitions to: {', '.join(report.grown)}")

    def _spawn_mongod(self) -> bool:
        pidfile = self.paths.pidfile(MONGOD)
        if processes.live_record(pidfile) is not None:
            self.say(f"mongod already running ({self._pid_text(MONGOD)}), reusing it")
            return False
        binary = install.ensure_mongod(self.say)
        self.paths.mongo_data.mkdir(parents=True, exist_ok=True)
        processes.spawn(
            mongo.mongod_command(binary, port=self.ports.mongo, dbpath=self.paths.mongo_data),
            log_path=self.paths.log(MONGOD),
            pid_path=pidfile,
            address=self.mongodb_uri,
        )
        self.say(f"starting mongod on 127.0.0.1:{self.ports.mongo}...")
        return True

    def _wait_mongod(self) -> None:
        waited = wait_until(
            lambda: mongo.is_writable_primary(self.ports.mongo),
            what=f"mongod on 127.0.0.1:{self.ports.mongo} (replica set {mongo.REPLICA_SET} primary)",
            timeout=self.mongo_timeout,
            log_path=self.paths.log(MONGOD),
            alive=lambda: self._alive(MONGOD),
        )
        self.say(f"mongod ready: {self.mongodb_uri} ({waited:.1f} s)")

    def _spawn_kafka(self) -> bool:
        pidfile = self.paths.pidfile(KAFKA)
        if processes.live_record(pidfile) is not None:
            self.say(f"kafka already running ({self._pid_text(KAFKA)}), reusing it")
            return False
        libs = self.paths.kafka_libs
        if not install.kafka_jars_ready(libs):
            raise StackError(f"Kafka jars missing in {libs}: run `python -m devstack install` first")
        props = self.paths.kafka_properties
        props.parent.mkdir(parents=True, exist_ok=True)
        props.write_text(
            kafka.render_server_properties(
                port=self.ports.kafka,
                controller_port=self.ports.kafka_controller,
                data_dir=self.paths.kafka_data,
            )
        )
        if not kafka.is_formatted(self.paths.kafka_data):
            self.say("formatting Kafka storage (first run of this profile only)...")
            kafka.format_storage(
                libs=libs, properties=props, cluster_id=self._cluster_id(), data_dir=self.paths.kafka_data
            )
        processes.spawn(
            kafka.server_command(libs=libs, properties=props),
            log_path=self.paths.log(KAFKA),
            pid_path=pidfile,
            address=self.kafka_bootstrap,
        )
        self.say(f"starting kafka on {self.kafka_bootstrap}...")
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
        waited = wait_until(
            lambda: topics.answers_metadata(self.kafka_bootstrap),
            what=f"kafka on {self.kafka_bootstrap}",
            timeout=self.kafka_timeout,
            log_path=self.paths.log(KAFKA),
            alive=lambda: self._alive(KAFKA),
            interval=0.5,
        )
        self.say(f"kafka ready: {self.kafka_bootstrap} ({waited:.1f} s)")

    # ---- services --------------------------------------------------------------------------------

    def service_env(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The services' environment: ours (so PATH, HOME... carry over), then this stack's addresses
        and ports, then `env`, which wins (the CLI passes the caller's environment there)."""
        merged = dict(os.environ)
        merged["KAFKA_BOOTSTRAP_SERVERS"] = self.kafka_bootstrap
        merged["MONGODB_URI"] = self.mongodb_uri
        for service in SERVICES:
            merged[service.port_env] = str(self.service_port(service.name))
        merged["PYTHONUNBUFFERED"] = "1"  # log lines reach the log file as they happen
        merged.update(env or {})
        return merged

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
        # Services together (they are independent), then the infrastructure one at a time.
        groups = [[s.name for s in SERVICES], [KAFKA], [MONGOD]]
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
            shutil.rmtree(self.paths.kafka_data, ignore_errors=True)
            shutil.rmtree(self.paths.mongo_data, ignore_errors=True)
            self.paths.cluster_id.unlink(missing_ok=True)

    def names(self) -> list[str]:
        return [*INFRA, *(s.name for s in SERVICES)]

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
        if name == KAFKA:
            return self.kafka_bootstrap
        if name == MONGOD:
            return self.mongodb_uri
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
