"""The operational endpoints every service serves on its HTTP port: /healthz, /readyz and /metrics."""

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

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
