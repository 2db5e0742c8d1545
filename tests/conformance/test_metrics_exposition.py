"""Each service's /metrics, as its real process serves it after real traffic, checked by Prometheus' own tools.

- The Prometheus text format: ``promtool check metrics`` finds nothing to say, neither a format error nor a lint
  problem (names, suffixes, units, help texts).
- OpenMetrics, which /metrics answers when asked (the only format with exemplars): promtool reads only the text
  format, so a Prometheus server scrapes the three services itself, in OpenMetrics with exemplars stored, and
  must report every target healthy and hold the exemplars; the Python client's strict OpenMetrics parser reads
  each body too.

One platform for the module (tests/e2e/conftest.py), with tracing on so the latency histograms carry exemplars:
its spans go to a sink here that takes and drops them.
"""

import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from devstack.services import SERVICES
from tests.e2e.conftest import Platform
from tests.ops.tools import tool
from tests.support import waiting
from tests.support.prometheus import running_prometheus

pytestmark = pytest.mark.e2e

SERVICE_NAMES = [service.name for service in SERVICES]
TEXT_FORMAT = "text/plain;version=0.0.4"
OPENMETRICS = "application/openmetrics-text;version=1.0.0"
HTTP_LATENCY = "alliance_http_request_duration_seconds"
# A metric of each service's own that the traffic below must have given samples: promtool is then checking a
# populated exposition, not declarations alone.
OWN_SAMPLES = {
    "feedback": ("alliance_feedback_accepted_total", "alliance_feedback_rejected_total"),
    "scoring": ("alliance_ruptures_opened_total",),
    "notify": ("alliance_alerts_sent_total", "alliance_alert_latency_seconds_bucket"),
}
SESSION_AT = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat()


@pytest.fixture(scope="module")
def span_sink() -> Iterator[str]:
    """An OTLP/HTTP endpoint that accepts every span and keeps none."""

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def platform_env(span_sink: str) -> dict[str, str]:
    """Tracing on: the services then put a trace id as the exemplar of their latency observations."""
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": span_sink, "OTEL_BSP_SCHEDULE_DELAY": "500"}


@pytest.fixture(scope="module")
async def traffic(platform: Platform) -> Platform:
    """Sessions and low ratings through the intake until notify alerted, a refused write, and a read of each
    service's API: every service's own metrics have samples."""
    tag = uuid.uuid4().hex[:8]
    clients = [f"c-metrics-{n}-{tag}" for n in (1, 2)]
    async with httpx.AsyncClient(base_url=platform.feedback_url, headers=platform.auth, timeout=10) as http:
        for number, client in enumerate(clients):
            session = f"s-metrics-{number}-{tag}"
            answers = [
                await http.post(
                    "/v1/sessions",
                    json={
                        "session_id": session,
                        "therapist_id": f"t-metrics-{tag}",
                        "client_id": client,
                        "occurred_at": SESSION_AT,
                        "attendance": "attended",
                        "scheduled_minutes": 50,
                    },
                ),
                await http.post("/v1/feedback", json=low_srs(client, f"t-metrics-{tag}", session)),
            ]
            assert [answer.status_code for answer in answers] == [202, 202], [a.text for a in answers]
        refused = await http.post(
            "/v1/feedback",
            json=low_srs(clients[0], f"t-metrics-{tag}", f"s-metrics-x-{tag}"),
            headers={"Authorization": f"Bearer wrong-{tag}"},
        )
        assert refused.status_code == 401
        for service, path in (("scoring", "/v1/clinic/settings"), ("notify", "/v1/routing")):
            assert (await http.get(platform.url(service) + path)).status_code == 200, service
    await waiting.eventually(
        lambda: all(platform.webhook.calls_for(client) for client in clients),
        within=60,
        what="an alert for each low rating",
        interval=0.2,
    )
    return platform


def low_srs(client: str, therapist: str, session: str) -> dict[str, Any]:
    return {
        "session_id": session,
        "therapist_id": therapist,
        "client_id": client,
        "session_at": SESSION_AT,
        "instrument": "srs",
        "respondent": "client",
        "items": {"relationship": 6.5, "goals": 6.5, "approach": 6.5, "overall": 6.5},
    }


async def scraped(serving: Platform, service: str, accept: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(f"{serving.url(service)}/metrics", headers={"Accept": accept})
    assert answer.status_code == 200, answer.text[:500]
    return answer


def promtool_check_metrics(exposition: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("service", SERVICE_NAMES)
async def test_promtool_finds_nothing_to_say_about_the_text_format(traffic: Platform, service: str) -> None:
    answer = await scraped(traffic, service, TEXT_FORMAT)
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    sampled = {
        line.split("{")[0].split(" ")[0] for line in answer.text.splitlines() if not line.startswith("#")
    }
    assert set(OWN_SAMPLES[service]) <= sampled, f"{service} has no samples yet of {OWN_SAMPLES[service]}"

    checked = promtool_check_metrics(answer.text)

    # Exit 1 is a format error, 3 lint problems (one per line, metric name first); 0 with nothing printed is clean.
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, ""), checked.stdout + checked.stderr


def test_promtool_complains_of_an_exposition_that_breaks_its_rules() -> None:
    broken = [
        "# TYPE alliance_alerts counter",
        "alliance_alerts 1",
        "# HELP alliance_wait_milliseconds Wait.",
        "# TYPE alliance_wait_milliseconds gauge",
        "alliance_wait_milliseconds 3",
    ]
    checked = promtool_check_metrics("\n".join(broken) + "\n")

    assert checked.returncode == 3, checked
    complaints = checked.stdout + checked.stderr
    assert 'alliance_alerts counter metrics should have "_total" suffix' in complaints
    assert "alliance_alerts no help text" in complaints
    assert "alliance_wait_milliseconds use base unit" in complaints


@pytest.mark.parametrize("service", SERVICE_NAMES)
async def test_the_openmetrics_exposition_reads_as_openmetrics_with_exemplars(
    traffic: Platform, service: str
) -> None:
    answer = await scraped(traffic, service, OPENMETRICS)
    assert answer.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    assert answer.text.endswith("# EOF\n")

    # The Python client's OpenMetrics parser is strict: it raises on anything the format does not allow.
    read = text_string_to_metric_families(answer.text)  # type: ignore[no-untyped-call]
    families = {family.name: family for family in read}

    latency = [s for s in families[HTTP_LATENCY].samples if s.exemplar is not None]
    assert latency, f"{service}: no exemplar on {HTTP_LATENCY}"
    assert {len(s.exemplar.labels["trace_id"]) for s in latency if s.exemplar} == {32}


# ---- a Prometheus server -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prometheus:
    url: str

    def get(self, path: str, **params: str) -> Any:
        answer = httpx.get(f"{self.url}{path}", params=params, timeout=10).json()
        assert answer["status"] == "success", answer
        return answer["data"]


@pytest.fixture(scope="module")
def prometheus(traffic: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """Debian's prometheus scraping the three services every second, exemplars stored; stopped by its pid."""
    jobs = {service: traffic.url(service) for service in SERVICE_NAMES}
    workdir = tmp_path_factory.mktemp("prometheus-openmetrics")
    with running_prometheus(workdir, jobs, "--enable-feature=exemplar-storage") as url:
        yield Prometheus(url)


def test_a_prometheus_server_scrapes_every_service_in_openmetrics_and_keeps_its_exemplars(
    prometheus: Prometheus,
) -> None:
    def every_target_scraped() -> bool:
        targets = prometheus.get("/api/v1/targets")["activeTargets"]
        return len(targets) == len(SERVICE_NAMES) and all(t["lastScrape"][:4] != "0001" for t in targets)

    deadline = time.monotonic() + 20
    while not every_target_scraped():
        assert time.monotonic() < deadline, prometheus.get("/api/v1/targets")
        time.sleep(0.5)
    targets = {t["labels"]["job"]: t for t in prometheus.get("/api/v1/targets")["activeTargets"]}
    assert {job: (t["health"], t["lastError"]) for job, t in targets.items()} == {
        service: ("up", "") for service in SERVICE_NAMES
    }

    # Exemplars exist only in OpenMetrics: stored ones show the server read that format, exemplars included.
    now = time.time()
    found = prometheus.get(
        "/api/v1/query_exemplars", query=f"{HTTP_LATENCY}_bucket", start=str(now - 600), end=str(now + 60)
    )
    jobs = {series["seriesLabels"]["job"] for series in found if series["exemplars"]}
    assert jobs == set(SERVICE_NAMES), found
