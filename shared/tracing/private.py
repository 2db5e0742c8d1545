"""What a span may say: an allow-list of attributes applied to every span before it leaves the process.

Instrumentation libraries record what is useful in general: the request path (which carries a client id, or a
signed link's credential), the Kafka record key (``clinic:client``), the event id, an exception's message (a
validation error quotes its input). A trace backend is read by more people than the health data is meant for,
so a span keeps only the attributes named here: how the call went, never whom or what it was about. The clinic
and the event type are named by the platform's own attributes.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link, Status

CLINIC = "alliance.clinic_id"
EVENT_TYPE = "alliance.event_type"

ALLOWED = frozenset(
    {
        CLINIC,
        EVENT_TYPE,
        "alliance.events",  # how many events a batch or a transaction held
        # HTTP, old and new semantic conventions: the route template, never the path
        "http.method",
        "http.request.method",
        "http.route",
        "http.status_code",
        "http.response.status_code",
        "http.scheme",
        "url.scheme",
        "http.flavor",
        "network.protocol.version",
        "server.address",
        "server.port",
        "net.host.port",
        # Kafka: where a record went, never its key or id
        "messaging.system",
        "messaging.operation",
        "messaging.destination.name",
        "messaging.destination_publish.name",
        "messaging.batch.message_count",
        "messaging.kafka.destination.partition",
        "messaging.kafka.message.offset",
        "messaging.message.payload_size_bytes",
        # MongoDB and SMTP
        "db.system",
        "db.operation.name",
        # failures, by kind only
        "error.type",
        "exception.type",
        "exception.escaped",
    }
)


def allowed(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: value for key, value in (attributes or {}).items() if key in ALLOWED}


def private(span: ReadableSpan) -> ReadableSpan:
    """The same span with only allowed attributes, on itself and on its events; links keep their target only,
    and the status its code (a description quotes an error message)."""
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=allowed(span.attributes),
        events=[Event(event.name, allowed(event.attributes), event.timestamp) for event in span.events],
        links=[Link(link.context) for link in span.links],
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class PrivateSpans(SpanExporter):
    """Wraps the real exporter: every span it is given is made ``private`` first."""

    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._exporter.export([private(span) for span in spans])

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._exporter.force_flush(timeout_millis)
