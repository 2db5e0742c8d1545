"""The pure parts of devstack, plus pid-file safety checked against real (tiny) processes.

Nothing here starts Kafka or mongod; the integration and e2e suites do that through the same code.
"""

import base64
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devstack import processes
from devstack.cli import curl_command
from devstack.errors import failure
from devstack.kafka import directory_id, initial_controllers, new_cluster_id, render_server_properties
from devstack.processes import PidRecord
from devstack.stack import Stack
from shared.settings import ServiceSettings


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _parse_properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def test_server_properties_single_node_kraft_on_loopback(tmp_path: Path) -> None:
    props = _parse_properties(render_server_properties(port=19092, controller_port=19093, data_dir=tmp_path))

    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == str(tmp_path)
    assert props["auto.create.topics.enable"] == "false"
    # A single node cannot hold more than one replica of anything.
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor"):
        assert props[key] == "1"


def test_cluster_node_properties_carry_the_durability_settings(tmp_path: Path) -> None:
    hosts = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
    props = _parse_properties(
        render_server_properties(port=29092, controller_port=29093, data_dir=tmp_path, node=2, hosts=hosts)
    )

    assert props["node.id"] == "2"
    assert props["listeners"] == "PLAINTEXT://127.0.0.2:29092,CONTROLLER://127.0.0.2:29093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.2:29092,CONTROLLER://127.0.0.2:29093"
    # A dynamic quorum: the controllers are found through the bootstrap list, not a fixed voter set.
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:29093,127.0.0.2:29093,127.0.0.3:29093"
    assert "controller.quorum.voters" not in props
    assert props["default.replication.factor"] == "3"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["unclean.leader.election.enable"] == "false"
    # A lost broker is fenced in 4 s (the default 9 s held writes to the partitions it led that long).
    assert props["broker.session.timeout.ms"] == "4000"
    assert props["broker.heartbeat.interval.ms"] == "1000"


def test_every_node_formats_with_the_same_initial_controllers() -> None:
    cluster_id = new_cluster_id()
    hosts = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]

    controllers = initial_controllers(cluster_id, hosts, 29093).split(",")

    assert [c.split("@")[0] for c in controllers] == ["1", "2", "3"]
    assert controllers[2].startswith("3@127.0.0.3:29093:")
    ids = {c.rsplit(":", 1)[1] for c in controllers}
    assert len(ids) == 3 and directory_id(cluster_id, 3) in ids
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
    assert initial_controllers(cluster_id, hosts, 29093) == ",".join(controllers)  # the same on every call


def test_a_cluster_is_three_nodes_on_their_own_addresses(tmp_path: Path) -> None:
    cluster, single = Stack("test", tmp_path, nodes=3), Stack("test", tmp_path)

    assert cluster.kafka_bootstrap == "127.0.0.1:29092,127.0.0.2:29092,127.0.0.3:29092"
    assert cluster.mongodb_uri == "mongodb://127.0.0.1:27217,127.0.0.2:27217,127.0.0.3:27217/?replicaSet=rs0"
    assert cluster.names()[:6] == ["mongod-1", "mongod-2", "mongod-3", "kafka-1", "kafka-2", "kafka-3"]
    assert cluster.node("kafka-3").host == cluster.node("mongod-3").host == "127.0.0.3"
    # Each node's processes run under a group of their own, which a firewall rule can match.
    assert len({node.group_id for node in cluster.nodes}) == 3
    assert single.nodes[0].group_id is None
    assert cluster.paths.profile_dir != single.paths.profile_dir
    assert cluster.service_port("feedback") != single.service_port("feedback")  # both can run at once
    with pytest.raises(ValueError):
        Stack("test", tmp_path, nodes=2)


def test_services_get_a_clusters_bootstrap_list_one_address_at_a_time() -> None:
    settings = ServiceSettings(kafka_bootstrap_servers="127.0.0.1:29092, 127.0.0.2:29092,127.0.0.3:29092")

    assert settings.kafka_servers == ["127.0.0.1:29092", "127.0.0.2:29092", "127.0.0.3:29092"]


def test_cluster_id_has_kafkas_format() -> None:
    for _ in range(200):
        cluster_id = new_cluster_id()
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_profiles_keep_dev_and_test_apart(tmp_path: Path) -> None:
    dev, test = Stack("dev", tmp_path), Stack("test", tmp_path)

    assert dev.kafka_bootstrap == "127.0.0.1:9092"
    assert dev.mongodb_uri == "mongodb://127.0.0.1:27017/?replicaSet=rs0"
    assert dev.service_port("feedback") == 8001
    assert test.kafka_bootstrap == "127.0.0.1:19092"
    assert test.mongodb_uri == "mongodb://127.0.0.1:27117/?replicaSet=rs0"
    assert dev.paths.kafka_data(dev.nodes[0]) != test.paths.kafka_data(test.nodes[0])
    assert dev.paths.kafka_libs == test.paths.kafka_libs  # jars are fetched once for all profiles


def test_ports_can_be_overridden(tmp_path: Path) -> None:
    stack = Stack("test", tmp_path, kafka_port=29092, mongo_port=28017)

    assert stack.kafka_bootstrap == "127.0.0.1:29092"
    assert stack.mongodb_uri == "mongodb://127.0.0.1:28017/?replicaSet=rs0"


@pytest.mark.parametrize("profile", ["nope", "../etc", "Dev"])
def test_unknown_or_unsafe_profiles_are_refused(tmp_path: Path, profile: str) -> None:
    with pytest.raises(ValueError):
        Stack(profile, tmp_path)


def test_service_env_explicit_values_win_over_stack_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "ambient:9092")  # e.g. left over in a dev shell
    stack = Stack("test", tmp_path)

    defaults = stack.service_env({})
    explicit = stack.service_env({"MONGODB_URI": "mongodb://elsewhere/", "FEEDBACK_PORT": "9000"})

    assert defaults["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092"
    assert defaults["FEEDBACK_PORT"] == "18001"
    assert explicit["MONGODB_URI"] == "mongodb://elsewhere/"
    assert explicit["FEEDBACK_PORT"] == "9000"
    assert explicit["PATH"] == os.environ["PATH"]


def test_curl_is_paste_ready() -> None:
    assert curl_command(8001, "dev-demo-key") == (
        'curl -sS -X POST http://127.0.0.1:8001/v1/feedback -H "Authorization: Bearer dev-demo-key" '
        '-H "Content-Type: application/json" -d \'{"session_id":"s-1","therapist_id":"t-1","client_id":"c-1",'
        '"session_at":"2026-11-20T10:00:00+00:00","instrument":"srs","respondent":"client",'
        '"items":{"relationship":7.5,"goals":7.0,"approach":8.0,"overall":7.5}}\''
    )
    assert "'Authorization: Bearer a\"b$c'" in curl_command(8001, 'a"b$c')


def test_failure_names_the_log_and_quotes_its_end(tmp_path: Path) -> None:
    log = tmp_path / "kafka.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))

    message = str(failure("kafka did not start", log))

    assert str(log) in message
    assert "line 99" in message and "line 70" in message and "line 69" not in message


def test_pidfile_round_trip_and_own_process_is_running(tmp_path: Path) -> None:
    me = os.getpid()
    started = processes.start_time_of(me)
    assert started is not None
    path = tmp_path / "me.pid"

    processes.write_pidfile(path, PidRecord(me, started, "127.0.0.1:1"))

    assert path.read_text().splitlines()[0] == str(me)  # `kill $(head -1 x.pid)` still works
    assert processes.live_record(path) == PidRecord(me, started, "127.0.0.1:1")


def test_reused_pid_is_never_signalled(tmp_path: Path) -> None:
    """A pid file whose pid now belongs to another process (here: this test run) is stale, not a target."""
    me = os.getpid()
    started = processes.start_time_of(me)
    assert started is not None
    path = tmp_path / "reused.pid"
    processes.write_pidfile(path, PidRecord(me, started - 1))

    assert processes.stop([path], timeout=0.5) == []  # and we are still alive to assert it
    assert not path.exists()


def test_pidfile_of_an_exited_process_is_cleaned_up(tmp_path: Path) -> None:
    path = tmp_path / "gone.pid"
    record = processes.spawn(
        [sys.executable, "-c", "import time; time.sleep(0.2)"], log_path=tmp_path / "gone.log", pid_path=path
    )
    _wait_for(lambda: processes.start_time_of(record.pid) is None)  # exited (a zombie counts as gone)

    assert processes.live_record(path) is None
    assert not path.exists()


def test_stop_terminates_then_kills(tmp_path: Path) -> None:
    polite = processes.spawn(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        log_path=tmp_path / "polite.log",
        pid_path=tmp_path / "polite.pid",
    )
    stubborn = processes.spawn(
        [
            sys.executable,
            "-c",
            "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        log_path=tmp_path / "stubborn.log",
        pid_path=tmp_path / "stubborn.pid",
    )
    _wait_for(lambda: "ready" in (tmp_path / "stubborn.log").read_text())  # SIGTERM must meet the handler

    stopped = processes.stop([tmp_path / "polite.pid", tmp_path / "stubborn.pid"], timeout=1.0)

    assert len(stopped) == 2
    assert not processes.is_running(polite) and not processes.is_running(stubborn)
    assert not (tmp_path / "polite.pid").exists() and not (tmp_path / "stubborn.pid").exists()


def test_status_of_a_stack_never_started(tmp_path: Path) -> None:
    rows = Stack("test", tmp_path).status()

    assert [row.name for row in rows] == ["mongod", "kafka", "feedback", "scoring", "notify"]
    assert all(row.pid is None and not row.running for row in rows)
    assert rows[1].address == "127.0.0.1:19092"


def test_a_traced_stack_sends_its_services_spans_to_its_own_jaeger(tmp_path: Path) -> None:
    dev, test = Stack("dev", tmp_path, tracing=True), Stack("test", tmp_path, tracing=True)
    assert dev.jaeger_ports.ui_url == "http://127.0.0.1:16686"  # Jaeger's usual ports for `make run`
    assert dev.service_env({})["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    ports = test.jaeger_ports
    taken = {18001, 18002, 18003, 19092, 19093, 27117}
    assert len({ports.otlp_http, ports.ui, ports.query_grpc, ports.health} - taken) == 4
    assert test.service_env({})["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://127.0.0.1:{ports.otlp_http}"
    assert "jaeger" in test.names()


def test_an_untraced_stack_leaves_tracing_off_and_has_no_jaeger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    stack = Stack("test", tmp_path)
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in stack.service_env({})
    assert "jaeger" not in stack.names()
    stack.paths.pidfile("jaeger").parent.mkdir(parents=True)
    stack.paths.pidfile("jaeger").write_text("")  # a Jaeger started with tracing earlier: `down` stops it too
    assert "jaeger" in stack.names()
