"""Runs one service's ASGI app under uvicorn, with a graceful shutdown that drains in-flight work."""

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.privacy.keys import KeyConfigurationError
from shared.settings import ServiceSettings


def serve(create_app: Callable[[], FastAPI], settings: ServiceSettings, port: int) -> None:
    try:
        app = create_app()
    except KeyConfigurationError as error:
        raise SystemExit(f"cannot start: {error}") from None
    uvicorn.run(
        app,
        host=settings.http_host,
        port=port,
        log_config=None,  # keep the JSON logging configured by the service
        # HTTP requests are short; the broker's drain in the lifespan gets the rest of the grace period.
        timeout_graceful_shutdown=2,
    )
