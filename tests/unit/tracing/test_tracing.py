"""The pure parts of tracing: the privacy filter on every exported span, and one trace per event where the
work is batched (a batch's events) or deferred (the outbox, a delivery)."""

from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared import tracing
from shared.tracing import setup
from shared.tracing.private import CLINIC, EVENT_TYPE, PrivateSpans

CLIENT_ID = "client-7f3a"


@dataclass
class Traced:
    exporter: InMemorySpanExporter
    provider: TracerProvider

    def finished(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[Traced]:
    """Tracing on, exporting through the privacy filter into memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(PrivateSpans(exporter)))
    monkeypatch.setattr(setup, "_provider", provider)
    yield Traced(exporter, provider)
    provider.shutdown()


def event(event_id: str, clinic: str = "clinic-a") -> SimpleNamespace:
    return SimpleNamespace(id=event_id, clinicid=clinic, type="org.alliance.feedback.submitted.v1")


def record_headers_of(parent: trace.Span) -> list[tuple[str, bytes]]:
    """Kafka record headers carrying ``parent``'s context, as a producer's middleware writes them."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(parent))
    return [("content-type", b"application/cloudevents+json"), *((k, v.encode()) for k, v in carrier.items())]


def attributes(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def trace_id(span: ReadableSpan) -> int | None:
    return span.context.trace_id if span.context is not None else None


def test_an_exported_span_keeps_only_allowed_attributes(traced: Traced) -> None:
    with setup.tracer().start_as_current_span("POST /v1/feedback", kind=SpanKind.SERVER) as span:
        span.set_attributes(
            {
                "http.route": "/v1/feedback",
                "http.request.method": "POST",
                "url.path": f"/v1/clients/{CLIENT_ID}/goals",
                "http.target": f"/c/{CLIENT_ID}",
                "messaging.kafka.message.key": f"clinic-a:{CLIENT_ID}",
                "messaging.message.id": "event-1",
                CLINIC: "clinic-a",
            }
        )
        span.record_exception(ValueError(f"input {CLIENT_ID!r} is not valid"))
        span.set_status(Status(StatusCode.ERROR, f"failed for {CLIENT_ID}"))
    (exported,) = traced.finished()
    assert attributes(exported) == {
        "http.route": "/v1/feedback",
        "http.request.method": "POST",
        CLINIC: "clinic-a",
    }
    (exception,) = exported.events
    assert (exception.attributes or {})["exception.type"] == "ValueError"
    assert set(exception.attributes or {}) <= {"exception.type", "exception.escaped"}  # no message, no stack
    assert exported.status.status_code is StatusCode.ERROR and not exported.status.description
    assert CLIENT_ID not in repr([exported.attributes, [e.attributes for e in exported.events]])


def test_each_event_of_a_batch_is_a_child_of_the_span_that_published_it(traced: Traced) -> None:
    first = setup.tracer().start_span("client.events publish", kind=SpanKind.PRODUCER)
    second = setup.tracer().start_span("client.events publish", kind=SpanKind.PRODUCER)
    first.end(), second.end()
    batch = [(record_headers_of(first), event("e-1")), (record_headers_of(second), event("e-2", "clinic-b"))]
    with (
        setup.tracer().start_as_current_span("client.events process") as batch_span,
        tracing.event_spans(batch),
    ):
        stored = tracing.carrier_of("e-2")
        assert tracing.carrier_of("unknown") is not None  # outside any event: the batch's own trace
    applied = {attributes(span)[CLINIC]: span for span in traced.finished() if span.name.startswith("apply")}
    assert parent_id(applied["clinic-a"]) == first.get_span_context().span_id
    assert trace_id(applied["clinic-a"]) == first.get_span_context().trace_id
    assert trace_id(applied["clinic-b"]) == second.get_span_context().trace_id
    assert attributes(applied["clinic-b"])[EVENT_TYPE] == "org.alliance.feedback.submitted.v1"
    assert applied["clinic-a"].links[0].context.span_id == batch_span.get_span_context().span_id
    assert stored is not None and tracing.exemplar_of(stored) == {
        "trace_id": trace.format_trace_id(second.get_span_context().trace_id)
    }


def test_deferred_work_continues_the_stored_trace(traced: Traced) -> None:
    with setup.tracer().start_as_current_span("notify process") as recorded:
        stored = tracing.carrier()
    with tracing.continued(stored), tracing.span("smtp send", {"server.port": 25}, SpanKind.CLIENT):
        pass
    smtp = next(span for span in traced.finished() if span.name == "smtp send")
    assert parent_id(smtp) == recorded.get_span_context().span_id
    assert smtp.kind is SpanKind.CLIENT


def test_with_tracing_off_nothing_is_recorded_or_stored() -> None:
    assert not tracing.is_on()
    with tracing.event_spans([(None, event("e-1"))]):
        assert tracing.carrier_of("e-1") is None
    assert tracing.carrier() is None and tracing.exemplar() is None
    with tracing.continued(None), tracing.span("mongodb transaction") as nothing:
        assert nothing is None


def test_an_exemplar_is_read_from_a_stored_traceparent() -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    assert tracing.exemplar_of({"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}) == {
        "trace_id": trace_id
    }
    assert tracing.exemplar_of(None) is None and tracing.exemplar_of({"traceparent": "garbled"}) is None
