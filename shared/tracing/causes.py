"""Keeping one trace per event where the work is batched or deferred.

A batch consumer applies many events in one transaction, and the outbox relay and the delivery worker do their
work later, in loops of their own. Each event still gets a span that is a child of the span that published it
(its record's ``traceparent``), the events it causes are published as children of that span (the trace context
is stored with them in the outbox), and an alert's webhook call is a child of the span that recorded it (stored
with the delivery). With tracing off every function here is a no-op.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Link, Span, SpanKind

from shared.tracing.private import CLINIC, EVENT_TYPE
from shared.tracing.setup import is_on, tracer

Carrier = dict[str, str]  # the W3C trace context (``traceparent``), as stored beside deferred work
# The span of each event of the batch being applied, by event id.
_event_spans: ContextVar[Mapping[str, Span]] = ContextVar("event_spans", default=MappingProxyType({}))


class _RecordHeaders(Getter[Sequence[tuple[str, bytes]]]):
    """Reads a Kafka record's headers (aiokafka: a sequence of name and bytes)."""

    def get(self, carrier: Sequence[tuple[str, bytes]], key: str) -> list[str] | None:
        values = [value.decode("latin-1") for name, value in carrier if name == key]
        return values or None

    def keys(self, carrier: Sequence[tuple[str, bytes]]) -> list[str]:
        return [name for name, _ in carrier]


_RECORD_HEADERS = _RecordHeaders()


def about(event: Any) -> dict[str, str]:
    """The attributes a span about ``event`` carries: its clinic and type (never a client, never content)."""
    return {CLINIC: event.clinicid, EVENT_TYPE: event.type}


@contextmanager
def event_spans(applied: Sequence[tuple[Sequence[tuple[str, bytes]] | None, Any]]) -> Iterator[None]:
    """A span for each ``(record headers, event)`` of a batch while it is applied, each a child of the span
    that published the event and linked to the batch's own span."""
    if not is_on():
        yield
        return
    batch = Link(trace.get_current_span().get_span_context())
    spans: dict[str, Span] = {}
    for headers, event in applied:
        parent = propagate.extract(headers or (), getter=_RECORD_HEADERS)
        spans[event.id] = tracer().start_span(
            f"apply {event.type}",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=[batch],
            attributes=about(event),
        )
    token = _event_spans.set(spans)
    try:
        yield
    finally:
        _event_spans.reset(token)
        for event_span in spans.values():
            event_span.end()


def as_cause(event_id: str) -> AbstractContextManager[Any]:
    """Make the span of event ``event_id`` (of the batch being applied) current: what is logged or caused
    inside belongs to that event's trace."""
    event_span = _event_spans.get().get(event_id)
    return trace.use_span(event_span, end_on_exit=False) if event_span is not None else nullcontext()


def carrier() -> Carrier | None:
    """The current trace context, to store with work done later; None without a trace."""
    if not is_on() or not trace.get_current_span().get_span_context().is_valid:
        return None
    stored: Carrier = {}
    propagate.inject(stored)
    return stored


def carrier_of(event_id: str) -> Carrier | None:
    """The trace context of event ``event_id`` of the batch being applied."""
    with as_cause(event_id):
        return carrier()


@contextmanager
def continued(stored: Carrier | None) -> Iterator[None]:
    """Go on with the trace ``stored`` (from ``carrier``): spans started inside are its children."""
    if not stored:
        yield
        return
    token = context.attach(propagate.extract(stored))
    try:
        yield
    finally:
        context.detach(token)


def span(
    name: str, attributes: Mapping[str, Any] | None = None, kind: SpanKind = SpanKind.INTERNAL
) -> AbstractContextManager[Any]:
    """A span of the platform's own work (a transaction, an SMTP call), current while it lasts."""
    if not is_on():
        return nullcontext()
    return tracer().start_as_current_span(name, kind=kind, attributes=attributes)


def exemplar_of(stored: Carrier | None) -> dict[str, str] | None:
    """The trace id of ``stored`` (from ``carrier``) as a Prometheus exemplar; None without one."""
    parts = (stored or {}).get("traceparent", "").split("-")  # version-traceid-spanid-flags
    return {"trace_id": parts[1]} if len(parts) == 4 else None


def exemplar() -> dict[str, str] | None:
    """The current trace id as a Prometheus exemplar, so a latency bucket links to a trace."""
    if not is_on():
        return None
    context_now = trace.get_current_span().get_span_context()
    if not context_now.is_valid or not context_now.trace_flags.sampled:
        return None
    return {"trace_id": trace.format_trace_id(context_now.trace_id)}
