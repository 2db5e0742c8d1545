"""Distributed tracing (OpenTelemetry): one trace follows an event from the HTTP request that brought it in,
through Kafka, scoring and notify, to the webhook call of the alert it raised. Off unless an OTLP endpoint is
configured; docs/operations.md ("Tracing")."""

from shared.tracing.causes import (
    Carrier,
    as_cause,
    carrier,
    carrier_of,
    continued,
    event_spans,
    exemplar,
    exemplar_of,
    span,
)
from shared.tracing.setup import (
    configure_tracing,
    instrument_app,
    instrument_broker,
    instrument_http_client,
    is_on,
)

__all__ = [
    "Carrier",
    "as_cause",
    "carrier",
    "carrier_of",
    "configure_tracing",
    "continued",
    "event_spans",
    "exemplar",
    "exemplar_of",
    "instrument_app",
    "instrument_broker",
    "instrument_http_client",
    "is_on",
    "span",
]
