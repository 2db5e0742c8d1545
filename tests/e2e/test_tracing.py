"""Tracing end to end: Jaeger (v2, built by devstack) beside the three services, each exporting its spans.

One ``POST /v1/feedback`` that raises an alert is followed through Jaeger's own HTTP API: one trace, with spans
of all three services in causal order and the webhook call last. Kafka redelivering the alert adds no second
webhook call and no second webhook span. Then every span Jaeger holds is scanned for the people and the words
the traffic carried.
"""

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord

from devstack.jaeger import JaegerPorts
from shared.tracing.private import CLINIC, EVENT_TYPE
from tests.e2e.conftest import Platform
from tests.e2e.test_observability import srs
from tests.support.kafka import records_matching
from tests.support.servers import Servers, local_stack

pytestmark = pytest.mark.e2e
SERVICES = ("feedback", "scoring", "notify")
Span = dict[str, Any]


@pytest.fixture(scope="module")
def jaeger() -> Iterator[JaegerPorts]:
    stack = local_stack(tracing=True)
    stack.ensure_installed(kafka=False, mongo=False)  # builds Jaeger the first time
    stack.stop(only=["jaeger"])  # a fresh, empty one
    stack.start_jaeger()
    try:
        yield stack.jaeger_ports
    finally:
        stack.stop(only=["jaeger"])


@pytest.fixture(scope="module")
def platform_env(jaeger: JaegerPorts) -> dict[str, str]:
    # Spans leave each service every half second instead of every five.
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": jaeger.otlp_endpoint, "OTEL_BSP_SCHEDULE_DELAY": "500"}


async def raise_alert(platform: Platform, client_id: str, therapist_id: str, comment: str) -> str:
    """Submit a rating low enough to alert; the trace id the webhook call carries (its traceparent)."""
    async with httpx.AsyncClient(base_url=platform.feedback_url, headers=platform.auth) as http:
        answer = await http.post(
            "/v1/feedback", json=srs(client_id, therapist_id, f"s-{client_id}", 6.5, comment)
        )
    assert answer.status_code == 202, answer.text
    deadline = time.monotonic() + 30
    while not platform.webhook.calls_for(client_id):
        assert time.monotonic() < deadline, "no webhook call within 30 s"
        await asyncio.sleep(0.1)
    headers = {
        name.lower(): value for name, value in platform.webhook.calls_for(client_id)[0].headers.items()
    }
    assert "traceparent" in headers, "the webhook call does not carry its trace"
    return str(headers["traceparent"].split("-")[1])


def tags(span: Span) -> dict[str, Any]:
    return {tag["key"]: tag["value"] for tag in span["tags"]}


class Trace:
    def __init__(self, document: dict[str, Any]) -> None:
        self.spans: list[Span] = document["spans"]
        self.service = {pid: str(process["serviceName"]) for pid, process in document["processes"].items()}
        self.by_id = {span["spanID"]: span for span in self.spans}

    def service_of(self, span: Span) -> str:
        return self.service[span["processID"]]

    def of(self, service: str, kind: str) -> list[Span]:
        return [s for s in self.spans if self.service_of(s) == service and tags(s).get("span.kind") == kind]

    @property
    def webhook_calls(self) -> list[Span]:
        # The HTTP instrumentations name the method by the old or the new semantic conventions.
        return [
            s
            for s in self.of("notify", "client")
            if "POST" in (tags(s).get("http.method"), tags(s).get("http.request.method"))
        ]

    def ancestry(self, span: Span) -> list[Span]:
        """``span``, its parent, its parent's parent... up to the root."""
        chain = [span]
        while parents := [r["spanID"] for r in chain[-1]["references"] if r["refType"] == "CHILD_OF"]:
            chain.append(self.by_id[parents[0]])
        return chain


async def fetch_trace(jaeger: JaegerPorts, trace_id: str, until: Callable[[Trace], bool]) -> Trace:
    """The trace as Jaeger's HTTP API gives it, once ``until`` holds (spans arrive in batches)."""
    deadline, last = time.monotonic() + 30, None
    async with httpx.AsyncClient(base_url=jaeger.ui_url) as http:
        while time.monotonic() < deadline:
            answer = await http.get(f"/api/traces/{trace_id}")
            if answer.status_code == 200 and answer.json()["data"]:
                last = Trace(answer.json()["data"][0])
                if until(last):
                    return last
            await asyncio.sleep(0.5)
    found = [] if last is None else [(last.service_of(s), s["operationName"]) for s in last.spans]
    raise AssertionError(f"trace {trace_id} not complete within 30 s; it holds {found}")


async def redeliver_alert(servers: Servers, trace_id: str) -> None:
    """Publish the alert's rupture.suspected record again, bytes and headers alike: what Kafka does when a
    consumer fails before it commits."""

    def on_trace(record: ConsumerRecord[bytes, bytes]) -> bool:
        return any(name == "traceparent" and trace_id in value.decode() for name, value in record.headers)

    found = await records_matching(servers.kafka_bootstrap, "rupture.suspected", on_trace, expected=1)
    assert len(found) == 1, f"{len(found)} records of the alert on rupture.suspected"
    producer = AIOKafkaProducer(bootstrap_servers=servers.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            "rupture.suspected", found[0].value, key=found[0].key, headers=list(found[0].headers)
        )
    finally:
        await producer.stop()


async def test_one_alert_is_one_trace_from_the_request_to_the_webhook_call(
    platform: Platform, jaeger: JaegerPorts, servers: Servers, unique: str
) -> None:
    client_id = f"c-traced-{unique}"
    trace_id = await raise_alert(platform, client_id, f"t-traced-{unique}", "it felt rushed today")

    def complete(found: Trace) -> bool:
        return {found.service_of(s) for s in found.spans} == set(SERVICES) and bool(found.webhook_calls)

    found = await fetch_trace(jaeger, trace_id, complete)
    (webhook,) = found.webhook_calls
    chain = found.ancestry(webhook)
    services_in_order = [found.service_of(span) for span in reversed(chain)]
    assert [s for i, s in enumerate(services_in_order) if i == 0 or services_in_order[i - 1] != s] == [
        "feedback",
        "scoring",
        "notify",
    ], [(found.service_of(s), s["operationName"]) for s in chain]
    root = chain[-1]
    assert root["operationName"] == "POST /v1/feedback" and tags(root)["span.kind"] == "server"
    assert webhook["startTime"] == max(span["startTime"] for span in found.spans), (
        "the webhook call is not last"
    )
    applied = next(s for s in chain if s["operationName"].startswith("apply "))
    assert tags(applied)[CLINIC] == platform.clinic_id
    assert tags(applied)[EVENT_TYPE].startswith("org.alliance.feedback.submitted.")
    assert any(s["operationName"] == "rupture.suspected publish" for s in found.spans)

    # Kafka delivers the alert again: notify consumes it once more (a second process span) and sends nothing.
    await redeliver_alert(servers, trace_id)

    def consumed_twice(found: Trace) -> bool:
        consumed = [
            s for s in found.of("notify", "consumer") if s["operationName"] == "rupture.suspected process"
        ]
        return len(consumed) == 2

    await fetch_trace(jaeger, trace_id, consumed_twice)
    await asyncio.sleep(2.0)  # room for a second delivery, had one been recorded
    again = await fetch_trace(jaeger, trace_id, consumed_twice)
    assert len(again.webhook_calls) == 1
    assert len(platform.webhook.calls_for(client_id)) == 1


async def test_the_alert_latency_and_the_logs_lead_to_the_trace(platform: Platform, unique: str) -> None:
    trace_id = await raise_alert(platform, f"c-exemplar-{unique}", f"t-exemplar-{unique}", "slow to open up")
    deadline, exemplars = time.monotonic() + 10, list[str]()
    async with httpx.AsyncClient() as http:
        # The latency is observed once the sending is recorded, a moment after the webhook call.
        while not any(f'trace_id="{trace_id}"' in line for line in exemplars) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            metrics = await http.get(
                f"{platform.url('notify')}/metrics", headers={"Accept": "application/openmetrics-text"}
            )
            assert metrics.headers["content-type"].startswith("application/openmetrics-text")
            exemplars = [
                line for line in metrics.text.splitlines() if "alliance_alert_latency_seconds_bucket" in line
            ]
    assert any(f'trace_id="{trace_id}"' in line for line in exemplars), "no latency bucket links to the trace"
    log = local_stack().paths.log("notify").read_text().splitlines()
    sent = [line for line in log if '"alert sent"' in line and trace_id in line]
    assert sent, "notify's 'alert sent' line does not name the trace"


async def test_no_span_names_a_client_a_therapist_or_their_words(
    platform: Platform, jaeger: JaegerPorts, unique: str
) -> None:
    client_id, therapist_id = f"c-secret-{unique}", f"t-secret-{unique}"
    comment = f"my sister's name is Marguerite {unique}"
    trace_id = await raise_alert(platform, client_id, therapist_id, comment)
    await fetch_trace(jaeger, trace_id, lambda found: bool(found.webhook_calls))
    spans: list[tuple[str, Span]] = []
    async with httpx.AsyncClient(base_url=jaeger.ui_url) as http:
        for service in SERVICES:
            answer = await http.get(
                "/api/traces", params={"service": service, "limit": 5000, "lookback": "1h"}
            )
            assert answer.status_code == 200, answer.text
            spans += [(service, span) for trace in answer.json()["data"] for span in trace["spans"]]
    assert {service for service, _ in spans} == set(SERVICES)
    secrets = (client_id, therapist_id, comment, platform.api_key)
    for service, span in spans:
        seen = repr([span["operationName"], span["tags"], span["logs"], span.get("warnings")])
        leaked = [secret for secret in secrets if secret in seen]
        assert not leaked, f"{service} span {span['operationName']!r} carries {leaked}: {seen}"
    assert len(spans) > 10
