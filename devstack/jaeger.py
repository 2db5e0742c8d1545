"""Jaeger v2 for the local stack: built once from the Go module proxy, started beside Kafka and mongod.

Jaeger v2 is one binary (an OpenTelemetry collector with Jaeger's storage and its query API). It is the tool of
the small Go module in ``stack/jaeger/`` (``go.mod`` and ``go.sum`` pin it and everything it is built from),
built into ``.stack/jaeger/<version>/`` the first time tracing is asked for; Go's module and build caches make
later builds quick. (``go install ...@version`` refuses it: Jaeger's own go.mod has a replace directive.)
In-memory storage: traces last as long as the process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devstack.errors import StackError
from devstack.install import output_tail
from devstack.layout import REPO_ROOT

MODULE = "github.com/jaegertracing/jaeger/cmd/jaeger"
TOOL_MODULE = REPO_ROOT / "stack" / "jaeger"
CONFIG = TOOL_MODULE / "config.yaml"
# The version stack/jaeger/go.mod pins: the one place to change it.
VERSION: str = re.findall(
    r"^\s*github\.com/jaegertracing/jaeger (v\S+)", (TOOL_MODULE / "go.mod").read_text(), re.M
)[0]


@dataclass(frozen=True)
class JaegerPorts:
    otlp_http: int  # where the services export their spans
    ui: int  # the UI, and the HTTP API the tests read traces from
    query_grpc: int
    health: int

    @classmethod
    def beside(cls, feedback_port: int) -> JaegerPorts:
        """Jaeger's usual ports for the dev stack (the feedback service on 8001); else ports just above the
        stack's feedback port (+39 to +42), clear of its other services and of the bench's."""
        if feedback_port == 8001:
            return cls(otlp_http=4318, ui=16686, query_grpc=16685, health=13133)
        return cls(*(feedback_port + offset for offset in (39, 40, 41, 42)))

    @property
    def otlp_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.otlp_http}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui}"

    def environment(self) -> dict[str, str]:
        """The addresses ``stack/jaeger/config.yaml`` reads."""
        return {
            "JAEGER_OTLP_HTTP_ADDRESS": f"127.0.0.1:{self.otlp_http}",
            "JAEGER_UI_ADDRESS": f"127.0.0.1:{self.ui}",
            "JAEGER_QUERY_GRPC_ADDRESS": f"127.0.0.1:{self.query_grpc}",
            "JAEGER_HEALTH_ADDRESS": f"127.0.0.1:{self.health}",
        }


def binary(root: Path) -> Path:
    return root / "jaeger" / VERSION / "jaeger"


def ensure_jaeger(root: Path, say: Callable[[str], None]) -> Path:
    """The Jaeger binary under ``root`` (the stack's state root), built from ``stack/jaeger/`` if missing."""
    target = binary(root)
    if target.is_file():
        return target
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").is_file() else None)
    if go is None:
        raise StackError("Go (`go`) is not on PATH; it is needed once, to build Jaeger for tracing")
    say(f"building Jaeger {VERSION} from the Go module proxy (first time only; a few minutes)...")
    # Into a side directory, renamed at the end, so an interrupted build never looks complete.
    partial = target.parent.with_name(target.parent.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    cmd = [go, "build", "-o", str(partial / "jaeger"), MODULE]
    result = subprocess.run(
        cmd,
        cwd=TOOL_MODULE,
        env={**os.environ, "CGO_ENABLED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not (partial / "jaeger").is_file():
        raise StackError(
            f"building Jaeger failed (exit {result.returncode}): {' '.join(cmd[1:])}\n"
            + output_tail(result.stdout + result.stderr)
        )
    shutil.rmtree(target.parent, ignore_errors=True)
    partial.rename(target.parent)
    return target


def command(root: Path) -> list[str]:
    return [str(binary(root)), "--config", str(CONFIG)]


def is_ready(ports: JaegerPorts) -> bool:
    """Jaeger's health check answers 200 once its receivers and UI are up."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ports.health}/status", timeout=1.0) as response:
            return bool(response.status == 200)
    except OSError:
        return False
