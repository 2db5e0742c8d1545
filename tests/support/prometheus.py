"""A real Prometheus server (Debian's binary) scraping the platform's services, for tests; stopped by its pid."""

import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from tests.ops.tools import tool
from tests.support.servers import free_port


@contextmanager
def running_prometheus(
    workdir: Path, jobs: Mapping[str, str], *flags: str, within: float = 30.0
) -> Iterator[str]:
    """Prometheus scraping each job's ``http://host:port`` every second, with ``flags`` added; yields its URL once
    it is ready."""
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [url.removeprefix("http://")]}]}
            for job, url in jobs.items()
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port, log_path = free_port(), workdir / "prometheus.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                tool("prometheus"),
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                *flags,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield _ready(f"http://127.0.0.1:{port}", process, log_path, within)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ready(url: str, process: "subprocess.Popen[bytes]", log: Path, within: float) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-2000:]
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"prometheus did not become ready within {within:.0f} s")
