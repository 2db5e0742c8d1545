"""Which Kafka and MongoDB the tests talk to, in the order DESIGN.md gives.

1. Servers named by KAFKA_BOOTSTRAP_SERVERS and MONGODB_URI.
2. Containers, when a Docker engine answers.
3. Otherwise the project's own local processes (the `test` profile of devstack, on ports apart from `make up`).
"""

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devstack.stack import Stack

KAFKA_IMAGE = "apache/kafka:4.1.1"
MONGO_IMAGE = "mongo:6.0.5"


def free_port() -> int:
    """A port nothing listens on now, from the kernel's ephemeral range."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def throwaway_stack(profile: str, *, kafka: bool) -> Iterator["Stack"]:
    """A Kafka node alone (``kafka``) or a mongod alone, of devstack profile ``profile`` on free ports, which a
    test may stop without disturbing the session's servers; wiped afterwards."""
    from devstack.stack import Stack

    ports = (free_port(), free_port(), 1) if kafka else (1, 1, free_port())
    stack = Stack(profile=profile, kafka_port=ports[0], kafka_controller_port=ports[1], mongo_port=ports[2])
    stack.wipe()
    stack.ensure_installed(kafka=kafka, mongo=not kafka)
    stack.start_infra(kafka=kafka, mongo=not kafka)
    try:
        yield stack
    finally:
        stack.wipe()


@dataclass(frozen=True)
class Servers:
    kafka_bootstrap: str
    mongodb_uri: str
    origin: str


def docker_answers() -> bool:
    try:
        import docker  # testcontainers depends on it

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@contextmanager
def _containers() -> Iterator[Servers]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    with (
        KafkaContainer(KAFKA_IMAGE).with_kraft() as kafka,
        MongoDbContainer(MONGO_IMAGE).with_command("--replSet rs0 --bind_ip_all") as mongo,
    ):
        host, port = mongo.get_container_host_ip(), mongo.get_exposed_port(27017)
        mongo.exec(
            "mongosh --quiet --eval \"rs.initiate({_id:'rs0',members:[{_id:0,host:'localhost:27017'}]})\""
        )
        yield Servers(
            kafka.get_bootstrap_server(),
            f"mongodb://{host}:{port}/?directConnection=true",
            "containers",
        )


def local_stack(nodes: int = 1, *, tracing: bool = False) -> "Stack":
    """The suite's own stack: profile `test`, or another one on ports from TEST_STACK_PORT_BASE.

    Two suites can run side by side with `TEST_STACK_PROFILE=mine TEST_STACK_PORT_BASE=50000`. The cluster
    (``nodes=3``) of a profile runs beside its one-node stack: on ports 500 higher, on 127.0.0.1-3.
    """
    from devstack.stack import Stack

    profile = os.environ.get("TEST_STACK_PROFILE", "test")
    if profile == "test":
        return Stack(profile="test", nodes=nodes, tracing=tracing)
    base = int(os.environ["TEST_STACK_PORT_BASE"]) + (0 if nodes == 1 else 500)
    return Stack.above(base, profile, nodes=nodes, tracing=tracing)


@contextmanager
def fresh_local_stack(nodes: int = 1) -> Iterator["Stack"]:
    """The suite's own Kafka and mongod (``nodes=3``: three Kafka nodes and a three-member replica set),
    started from empty topics and an empty database, stopped afterwards."""
    stack = local_stack(nodes)
    stack.stop()
    stack.wipe()
    stack.ensure_installed()
    stack.start_infra()
    try:
        yield stack
    finally:
        stack.stop()


@contextmanager
def _local_processes() -> Iterator[Servers]:
    with fresh_local_stack() as stack:
        yield Servers(stack.kafka_bootstrap, stack.mongodb_uri, "local processes")


@contextmanager
def test_servers() -> Iterator[Servers]:
    kafka, mongodb = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("MONGODB_URI")
    if kafka and mongodb:
        yield Servers(kafka, mongodb, "environment")
    elif docker_answers():
        with _containers() as servers:
            yield servers
    else:
        with _local_processes() as servers:
            yield servers
