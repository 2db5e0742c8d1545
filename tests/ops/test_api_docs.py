"""docs/api/ holds the OpenAPI and AsyncAPI documents generated from the apps; stale documents fail here.

Regenerate with `make docs` (python -m shared.docs) after changing an endpoint, a handler or a contract.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.ops.tools import REPO_ROOT

DOCS = REPO_ROOT / "docs" / "api"
SERVICES = ("feedback", "scoring", "notify")


def generate(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # A child process: building the apps configures logging and metrics, which must not leak into pytest.
    return subprocess.run(
        [sys.executable, "-m", "shared.docs", "--out", str(out), *extra],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("api-docs")
    result = generate(out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def load(directory: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((directory / name).read_text())
    return loaded


def test_the_checked_in_documents_are_the_generated_ones(fresh: Path) -> None:
    generated = sorted(p.name for p in fresh.iterdir())
    assert generated == sorted(f"{kind}-{s}.json" for s in SERVICES for kind in ("openapi", "asyncapi"))
    stale = [name for name in generated if (fresh / name).read_text() != _checked_in(name)]
    assert not stale, f"docs/api/ is stale, run `make docs`: {stale}"


def _checked_in(name: str) -> str:
    path = DOCS / name
    return path.read_text() if path.exists() else ""


def test_the_check_mode_names_a_stale_document(fresh: Path, tmp_path: Path) -> None:
    copy = tmp_path / "api"
    shutil.copytree(fresh, copy)
    document = load(copy, "openapi-scoring.json")
    document["paths"].pop("/healthz")
    (copy / "openapi-scoring.json").write_text(json.dumps(document))
    result = generate(copy, "--check")
    assert result.returncode == 1
    assert "openapi-scoring.json" in result.stderr and "openapi-feedback.json" not in result.stderr


def test_every_http_app_documents_its_operational_endpoints(fresh: Path) -> None:
    for service in SERVICES:
        document = load(fresh, f"openapi-{service}.json")
        assert document["openapi"].startswith("3.")
        assert {"/healthz", "/readyz", "/metrics"} <= set(document["paths"]), service
    assert "/v1/feedback" in load(fresh, "openapi-feedback.json")["paths"]


def test_the_asyncapi_documents_show_what_each_service_consumes_and_publishes(fresh: Path) -> None:
    expected = {
        "scoring": (
            {"client.events", "session.completed", "feedback.submitted", "rupture.acknowledged"},
            {"rupture.suspected"},
        ),
        "notify": ({"rupture.suspected"}, {"rupture.acknowledged"}),
        "feedback": ({"clinic.keys"}, {"client.events"}),
    }
    for service, (consumed, published) in expected.items():
        document = load(fresh, f"asyncapi-{service}.json")
        assert document["asyncapi"].startswith("3.")
        addresses: dict[str, set[str]] = {"receive": set(), "send": set()}
        for op in document["operations"].values():
            channel = op["channel"]["$ref"].rsplit("/", 1)[-1]
            addresses[op["action"]].add(document["channels"][channel]["address"])
        assert consumed <= addresses["receive"], (service, addresses)
        assert published | {"deadletter"} <= addresses["send"], (service, addresses)
        assert any(name.startswith("CloudEvent[") for name in document["components"]["schemas"])
