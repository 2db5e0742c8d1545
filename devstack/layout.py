"""Where a stack keeps its state on disk, and which ports each profile uses by default."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROOT = REPO_ROOT / ".stack"


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

_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def check_profile_name(profile: str) -> str:
    """Profiles become directory names, so keep them to a safe alphabet."""
    if not _PROFILE_NAME.match(profile):
        raise ValueError(f"invalid profile name {profile!r}: use lowercase letters, digits, '-' and '_'")
    return profile


@dataclass(frozen=True)
class StackPaths:
    """The layout under the state root (``.stack/`` by default); jars are shared by all profiles."""

    root: Path
    profile: str

    @property
    def kafka_libs(self) -> Path:
        return self.root / "kafka" / "libs"

    @property
    def install_lock(self) -> Path:
        return self.root / ".install.lock"

    @property
    def profile_dir(self) -> Path:
        return self.root / self.profile

    @property
    def lock(self) -> Path:
        return self.profile_dir / ".lock"

    @property
    def kafka_data(self) -> Path:
        return self.profile_dir / "kafka-data"

    @property
    def mongo_data(self) -> Path:
        return self.profile_dir / "mongo-data"

    @property
    def config_dir(self) -> Path:
        return self.profile_dir / "config"

    @property
    def kafka_properties(self) -> Path:
        return self.config_dir / "kafka-server.properties"

    @property
    def cluster_id(self) -> Path:
        return self.profile_dir / "cluster-id"

    def log(self, name: str) -> Path:
        return self.profile_dir / "logs" / f"{name}.log"

    def pidfile(self, name: str) -> Path:
        return self.profile_dir / "pids" / f"{name}.pid"
