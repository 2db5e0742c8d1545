"""Kafka in KRaft mode, each process acting as broker and controller: config, storage, command line."""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path

from devstack.errors import StackError
from devstack.install import KAFKA_LOG_CONFIG, java_executable

# Sized for a 2-core dev box: a small, fixed-ceiling heap and the serial collector (lowest footprint;
# pauses are irrelevant at dev traffic), C1 only (less JIT memory and CPU, faster warm-up).
JVM_OPTS: tuple[str, ...] = (
    "-Xms64m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:ReservedCodeCacheSize=64m",
    "-XX:MaxMetaspaceSize=128m",
    "-XX:MaxDirectMemorySize=128m",
    "-Xss512k",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)


def new_cluster_id() -> str:
    """A random cluster id in the format of `kafka-storage random-uuid`: 16 random bytes, url-safe base64.

    Generated here rather than by the tool to save one JVM start on first run.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):  # Kafka avoids these too: they look like CLI options
            return cluster_id


def directory_id(cluster_id: str, node: int) -> str:
    """The metadata log directory id of ``node``, derived from the cluster id: every node's storage is
    formatted with the whole list of initial controllers and their directory ids, so all must agree on them."""
    raw = uuid.uuid5(uuid.NAMESPACE_URL, f"kafka:{cluster_id}:{node}").bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def initial_controllers(cluster_id: str, hosts: Sequence[str], controller_port: int) -> str:
    """``--initial-controllers`` of a dynamic quorum: ``id@host:port:directory-id`` for every node."""
    return ",".join(
        f"{number}@{host}:{controller_port}:{directory_id(cluster_id, number)}"
        for number, host in enumerate(hosts, start=1)
    )


# How soon the active controller fences a broker that stopped heartbeating, and so moves its partitions'
# leadership to the other in-sync replicas. Until then every write to a partition the lost broker led waits: the
# defaults (9 s, heartbeats every 2 s) held the intake's writes for 10 to 15 s after a leader was SIGKILLed,
# more when that broker was also the active controller (a new one takes over, then waits the whole timeout
# again). Four missed heartbeats of one second still leave room for a busy machine's scheduling delays.
FAILOVER: dict[str, str | int] = {"broker.session.timeout.ms": 4000, "broker.heartbeat.interval.ms": 1000}


def render_server_properties(
    *, port: int, controller_port: int, data_dir: Path, node: int = 1, hosts: Sequence[str] = ("127.0.0.1",)
) -> str:
    """server.properties for node ``node`` of ``hosts`` (one node, or a cluster), each broker and controller.

    A single node keeps a static one-voter quorum and one replica of everything. A cluster runs a dynamic
    quorum (``controller.quorum.bootstrap.servers``) with the durability settings of DESIGN.md.
    """
    host = hosts[node - 1]
    clustered = len(hosts) > 1
    replicas, min_isr = (3, 2) if clustered else (1, 1)
    settings: dict[str, str | int] = {
        "process.roles": "broker,controller",
        "node.id": node,
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}"
        + (f",CONTROLLER://{host}:{controller_port}" if clustered else ""),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": min_isr,
        "default.replication.factor": replicas,
        # A write acknowledged with acks=all is on at least two replicas; a replica that missed writes never
        # becomes leader (that would silently drop what it missed).
        "min.insync.replicas": min_isr,
        "unclean.leader.election.enable": "false",
        # 10 instead of 50 offsets partitions: fewer files, faster first consumer-group join.
        "offsets.topic.num.partitions": 10,
        # Consumers in tests should not sit out a 3 s rebalance delay.
        "group.initial.rebalance.delay.ms": 0,
        # Topics are created explicitly (shared/topics.py); a typo must fail, not create a topic.
        "num.partitions": 1,
        "auto.create.topics.enable": "false",
        # Fewer threads and a smaller compaction buffer (default 128 MiB of heap) for a small machine.
        "num.network.threads": 2,
        "num.io.threads": 4,
        "log.cleaner.dedupe.buffer.size": 16 * 1024 * 1024,
    }
    if clustered:
        settings["controller.quorum.bootstrap.servers"] = ",".join(f"{h}:{controller_port}" for h in hosts)
        settings.update(FAILOVER)
    else:
        settings["controller.quorum.voters"] = f"1@{host}:{controller_port}"
    lines = ["# Written by devstack on every start; edit devstack/kafka.py instead."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def is_formatted(data_dir: Path) -> bool:
    return (data_dir / "meta.properties").is_file()


def format_storage(
    *, libs: Path, properties: Path, cluster_id: str, data_dir: Path, controllers: str | None = None
) -> None:
    """Format the KRaft metadata log once; a formatted directory is left alone (its data is kept).

    ``controllers`` (a cluster's ``--initial-controllers``) is the same on every node of a dynamic quorum.
    """
    if is_formatted(data_dir):
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        java_executable(), *_log_opts(), "-cp", f"{libs}/*",
        "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties),
        *(["--initial-controllers", controllers] if controllers else []),
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(
            f"formatting Kafka storage in {data_dir} failed (exit {result.returncode}):\n"
            + (result.stdout + result.stderr).strip()
        )


def server_command(*, libs: Path, properties: Path) -> list[str]:
    return [java_executable(), *JVM_OPTS, *_log_opts(), "-cp", f"{libs}/*", "kafka.Kafka", str(properties)]


def _log_opts() -> list[str]:
    return [f"-Dlog4j2.configurationFile={KAFKA_LOG_CONFIG}"]
