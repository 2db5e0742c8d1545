"""The operational endpoints every service serves on its HTTP port: /healthz, /readyz and /metrics."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_fastapi_instrumentator import Instrumentator, metrics
from prometheus_fastapi_instrumentator.metrics import Info
from pymongo import AsyncMongoClient

from shared import mongo, tracing

ReadinessCheck = Callable[[], Awaitable[bool]]


def ops_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @router.get(
        "/readyz", summary="Kafka and MongoDB are reachable", responses={503: {"description": "Not ready"}}
    )
    async def readyz() -> JSONResponse:
        results = await asyncio.gather(*(check() for check in checks.values()))
        report = {name: "ok" if ok else "unreachable" for name, ok in zip(checks, results, strict=True)}
        ready = all(results)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": report}, status_code=200 if ready else 503
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        # OpenMetrics when the scraper asks for it (Prometheus does): the only format that carries exemplars.
        encode, media_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(REGISTRY), media_type=media_type)

    return router


def kafka_check(ping: Callable[[float], Awaitable[bool]]) -> ReadinessCheck:
    async def check() -> bool:
        try:
            return await ping(2.0)
        except Exception:
            return False

    return check


def instrument_http(app: FastAPI) -> None:
    """Count and time every request by route template (``handler``), method and status.

    The route template, not the raw path, keeps client and therapist ids out of the labels. Which service
    answered is Prometheus's ``job`` label, from the scrape target.
    """
    instrumentator = Instrumentator(
        should_group_status_codes=False, excluded_handlers=["/metrics", "/healthz", "/readyz"]
    )
    instrumentator.add(metrics.requests(metric_name="alliance_http_requests_total"))
    instrumentator.add(_latency)
    instrumentator.instrument(app)


# The instrumentator's own latency metric, with the request's trace as an exemplar (it has no exemplars).
HTTP_LATENCY = Histogram(
    "alliance_http_request_duration_seconds",
    "Duration of HTTP requests in seconds",
    ["handler", "method", "status"],
)


def _latency(info: Info) -> None:
    HTTP_LATENCY.labels(info.modified_handler, info.method, info.modified_status).observe(
        info.modified_duration, exemplar=tracing.exemplar()
    )


def add_operations(app: FastAPI, broker: Any, client: AsyncMongoClient[mongo.Document]) -> None:
    """What every service serves for operators: health, readiness of Kafka and MongoDB, and metrics."""
    app.include_router(
        ops_router({"kafka": kafka_check(broker.ping), "mongodb": lambda: mongo.is_reachable(client)})
    )
    instrument_http(app)
    tracing.instrument_app(app)
