"""The operational endpoints every service serves on its HTTP port: /healthz, /readyz and /metrics."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_fastapi_instrumentator import Instrumentator, metrics
from pymongo import AsyncMongoClient

from shared import mongo

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
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

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
    instrumentator.add(metrics.latency(metric_name="alliance_http_request_duration_seconds"))
    instrumentator.instrument(app)


def add_operations(app: FastAPI, broker: Any, client: AsyncMongoClient[mongo.Document]) -> None:
    """What every service serves for operators: health, readiness of Kafka and MongoDB, and metrics."""
    app.include_router(
        ops_router({"kafka": kafka_check(broker.ping), "mongodb": lambda: mongo.is_reachable(client)})
    )
    instrument_http(app)
