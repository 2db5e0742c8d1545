"""Kafka in KRaft mode, one process acting as broker and controller: config, storage, command line."""

from __future__ import annotations

import base64
import subprocess
import uuid
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


def render_server_properties(*, port: int, controller_port: int, data_dir: Path) -> str:
    """server.properties for a single node that is both broker and controller, on loopback only."""
    settings: dict[str, str | int] = {
        "process.roles": "broker,controller",
        "node.id": 1,
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        # One node: every internal topic must make do with one replica.
        "offsets.topic.replication.factor": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
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
    lines = ["# Written by devstack on every start; edit devstack/kafka.py instead."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def is_formatted(data_dir: Path) -> bool:
    return (data_dir / "meta.properties").is_file()


def format_storage(*, libs: Path, properties: Path, cluster_id: str, data_dir: Path) -> None:
    """Format the KRaft metadata log once; a formatted directory is left alone (its data is kept)."""
    if is_formatted(data_dir):
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        java_executable(), *_log_opts(), "-cp", f"{libs}/*",
        "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties),
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
