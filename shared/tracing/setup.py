"""Turning tracing on: one tracer provider per process, exporting by OTLP/HTTP through the privacy filter.

Tracing is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` names a collector (Jaeger takes OTLP itself). Off, nothing
is instrumented at all: no middleware, no span objects, no headers, so the services run exactly as without it.
"""

import logging

import httpx
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from shared.settings import ServiceSettings
from shared.tracing.private import PrivateSpans

log = logging.getLogger("alliance.tracing")
_provider: TracerProvider | None = None

# Operational endpoints are polled every few seconds; a trace of each would bury the ones that matter.
UNTRACED_PATHS = "healthz,readyz,metrics"


def configure_tracing(settings: ServiceSettings, service: str) -> None:
    """Install the process's tracer provider if ``settings`` name an OTLP endpoint (once per process: a
    service's worker processes each configure their own)."""
    global _provider
    if not settings.otlp_endpoint or _provider is not None:
        return
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    exporter = OTLPSpanExporter(endpoint=f"{settings.otlp_endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(PrivateSpans(exporter)))
    # Not installed as OpenTelemetry's global provider: each instrumentation is handed this one, so tests can
    # run a service with tracing and one without in the same process.
    _provider = provider
    log.info("tracing on", extra={"otlp_endpoint": settings.otlp_endpoint})


def is_on() -> bool:
    return _provider is not None


def tracer() -> trace.Tracer:
    """The tracer of the platform's own spans (a no-op one with tracing off)."""
    return _provider.get_tracer("alliance") if _provider is not None else trace.NoOpTracer()


def instrument_app(app: FastAPI) -> None:
    """A server span per request, named by its route template."""
    if _provider is not None:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=_provider, excluded_urls=UNTRACED_PATHS, exclude_spans=["receive", "send"]
        )


def instrument_broker(broker: KafkaBroker) -> None:
    """Publish and consume spans, the trace context travelling in each record's headers (W3C traceparent)."""
    if _provider is not None:
        broker.add_middleware(KafkaTelemetryMiddleware(tracer_provider=_provider))


def instrument_http_client(client: httpx.AsyncClient) -> None:
    """A client span per outgoing request (the webhooks); the receiver gets the traceparent header too."""
    if _provider is not None:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=_provider)
