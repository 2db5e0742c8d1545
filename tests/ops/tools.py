"""Paths and the promtool runner the ops tests share."""

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
GRAFANA_DIR = DEPLOY / "grafana"
INSTALL_HINT = "promtool is missing: `make test` installs it (apt-get install -y prometheus)"


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} not on PATH. {INSTALL_HINT}"
    return found


def promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
