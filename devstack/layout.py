"""Where a stack keeps its state on disk, which ports each profile uses, and the nodes of a cluster."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROOT = REPO_ROOT / ".stack"

# A stack is one node, or a cluster of three (DESIGN.md "Running as a cluster"): replication factor 3 with
# min.insync.replicas 2 needs three, and a majority of three survives the loss of one node.
NODE_COUNTS = (1, 3)


@dataclass(frozen=True)
class Ports:
    kafka: int
    kafka_controller: int
    mongo: int
    feedback: int
    scoring: int
    notify: int


# "test" sits 10000 above "dev" so the test suite's stack never collides with the one `make up` started.
PROFILES: dict[str, Ports] = {
    "dev": Ports(kafka=9092, kafka_controller=9093, mongo=27017, feedback=8001, scoring=8002, notify=8003),
    "test": Ports(
        kafka=19092, kafka_controller=19093, mongo=27117, feedback=18001, scoring=18002, notify=18003
    ),
}
# A cluster's nodes listen on the same ports, each on its own address. The dev cluster takes the dev ports (it
# replaces the one-node dev stack); the test cluster runs beside the test suite's one-node stack, so apart.
CLUSTER_PROFILES: dict[str, Ports] = {
    "dev": PROFILES["dev"],
    "test": Ports(
        kafka=29092, kafka_controller=29093, mongo=27217, feedback=28001, scoring=28002, notify=28003
    ),
}

_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def check_profile_name(profile: str) -> str:
    """Profiles become directory names, so keep them to a safe alphabet."""
    if not _PROFILE_NAME.match(profile):
        raise ValueError(f"invalid profile name {profile!r}: use lowercase letters, digits, '-' and '_'")
    return profile


def check_node_count(nodes: int) -> int:
    if nodes not in NODE_COUNTS:
        raise ValueError(f"a stack has 1 node or a cluster of 3, not {nodes}")
    return nodes


def default_ports(profile: str, nodes: int) -> Ports | None:
    return (PROFILES if nodes == 1 else CLUSTER_PROFILES).get(profile)


@dataclass(frozen=True)
class Node:
    """One machine of the stack, played by a loopback address: its Kafka node and its mongod live there.

    In a cluster each node's processes also run under a group id of their own, so that an `iptables` owner
    match can cut exactly that node's traffic (loopback connections all leave from 127.0.0.1 otherwise).
    """

    number: int  # 1-based: Kafka's node.id, the last byte of the address
    clustered: bool

    @property
    def host(self) -> str:
        return f"127.0.0.{self.number}"

    @property
    def kafka(self) -> str:
        """The Kafka process's name: ``kafka`` alone, ``kafka-2`` in a cluster."""
        return f"kafka-{self.number}" if self.clustered else "kafka"

    @property
    def mongod(self) -> str:
        return f"mongod-{self.number}" if self.clustered else "mongod"

    @property
    def group_id(self) -> int | None:
        return 41000 + self.number if self.clustered else None


def stack_nodes(nodes: int) -> tuple[Node, ...]:
    return tuple(Node(number, clustered=nodes > 1) for number in range(1, nodes + 1))


@dataclass(frozen=True)
class StackPaths:
    """The layout under the state root (``.stack/`` by default); jars are shared by all profiles.

    A cluster keeps its state apart from the same profile's one-node stack (``.stack/dev-cluster``), so
    switching between the two never mixes their data.
    """

    root: Path
    profile: str
    nodes: int = 1

    @property
    def kafka_libs(self) -> Path:
        return self.root / "kafka" / "libs"

    @property
    def install_lock(self) -> Path:
        return self.root / ".install.lock"

    @property
    def profile_dir(self) -> Path:
        return self.root / (self.profile if self.nodes == 1 else f"{self.profile}-cluster")

    @property
    def lock(self) -> Path:
        return self.profile_dir / ".lock"

    def kafka_data(self, node: Node) -> Path:
        return self.profile_dir / ("kafka-data" if not node.clustered else f"kafka-{node.number}-data")

    def mongo_data(self, node: Node) -> Path:
        return self.profile_dir / ("mongo-data" if not node.clustered else f"mongo-{node.number}-data")

    @property
    def config_dir(self) -> Path:
        return self.profile_dir / "config"

    def kafka_properties(self, node: Node) -> Path:
        return self.config_dir / (
            "kafka-server.properties" if not node.clustered else f"{node.kafka}.properties"
        )

    @property
    def cluster_id(self) -> Path:
        return self.profile_dir / "cluster-id"

    def log(self, name: str) -> Path:
        return self.profile_dir / "logs" / f"{name}.log"

    @property
    def local_keks(self) -> Path:
        """This stack's key-encryption key, made on first start (ALLIANCE_KEKS, when set, is used instead)."""
        return self.profile_dir / "keks"

    def pidfile(self, name: str) -> Path:
        return self.profile_dir / "pids" / f"{name}.pid"
