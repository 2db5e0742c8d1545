"""Runs one service's ASGI app under uvicorn, with a graceful shutdown that drains in-flight work.

With several workers, uvicorn's supervisor shares the one listening socket between that many processes, each
building its own app (its own Kafka producer and consumers, its own MongoDB client) by calling the factory
again. SIGTERM or SIGINT to the supervisor stops every worker, each draining its requests as a single process
does, before the supervisor exits. Each worker holds a number of its own (``worker_number``), which a worker
started in place of a dead one takes over.
"""

import fcntl
import functools
import gc
import os
import socket
import tempfile
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.importer import import_from_string
from uvicorn.supervisors import Multiprocess

from shared.privacy.keys import KeyConfigurationError
from shared.settings import ServiceSettings

# The directory in which the workers of one supervisor claim their numbers, one lock file each.
WORKER_NUMBERS = "ALLIANCE_WORKER_NUMBERS"
# 'module:function' of the app factory each worker calls (``worker_app``).
APP_FACTORY = "ALLIANCE_APP_FACTORY"


def serve(
    create_app: Callable[[], FastAPI], settings: ServiceSettings, port: int, *, workers: int = 1
) -> None:
    """Serve ``create_app()`` on ``port``. More than one of ``workers`` needs ``create_app`` to be a module-level
    function: each worker process imports and calls it, so it must read its settings from the environment."""
    try:
        # Built here even when workers build their own: a bad configuration stops start-up with its reason,
        # before any worker exists (a worker would only die, and be restarted, again and again).
        app = create_app()
    except KeyConfigurationError as error:
        raise SystemExit(f"cannot start: {error}") from None
    options: dict[str, Any] = {
        "host": settings.http_host,
        "port": port,
        "log_config": None,  # keep the JSON logging configured by the service
        # HTTP requests are short; the broker's drain in the lifespan gets the rest of the grace period.
        "timeout_graceful_shutdown": 2,
        # uvloop and httptools (dependencies): the event loop and the HTTP parser in C. On the reliability
        # run's load they cut the intake's CPU per request and scoring's per event by about a fifth.
        "loop": "auto",
        "http": "auto",
    }
    if workers == 1:
        # What the process built to start (modules, the app, its models and schemas: some 140,000 objects) lives
        # as long as the process. Frozen, it is no longer walked by each of the collector's full collections,
        # a dozen a minute under load: 3 to 7 % less CPU per event in each service on the reliability run.
        gc.freeze()
        uvicorn.run(app, **options)
        return
    os.environ[APP_FACTORY] = _import_path(create_app)  # the workers inherit it
    config = uvicorn.Config(f"{__name__}:{worker_app.__name__}", factory=True, workers=workers, **options)
    supervisor = Multiprocess(config, sockets=[listening_socket(config)])
    with tempfile.TemporaryDirectory(prefix="alliance-workers-") as numbers:
        os.environ[WORKER_NUMBERS] = numbers  # the workers inherit it
        supervisor.run()
    # uvicorn.run exits 0 when a worker could not start (its lifespan failed); one process exits non-zero.
    if any(worker.exitcode == STARTUP_FAILURE for worker in supervisor.processes):
        raise SystemExit(STARTUP_FAILURE)


def worker_app() -> FastAPI:
    """A worker's app: built by the factory named in ``APP_FACTORY``, its heap then frozen as in ``serve``."""
    app: FastAPI = import_from_string(os.environ[APP_FACTORY])()
    gc.freeze()
    return app


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The socket the workers share, bound by ``config``, with its protocol read back from the kernel.

    uvicorn's ``bind_socket`` leaves ``proto`` at 0; accepted connections inherit it, and asyncio turns
    Nagle's algorithm off (TCP_NODELAY) only on sockets that say IPPROTO_TCP. Every keep-alive request after
    the first then waited for the client's delayed ACK, about 40 ms: two workers answered /healthz at 717 a
    second where one answered 2 500 (Kludex/uvicorn#3149). A socket made from the bound descriptor alone
    asks the kernel for its family, type and protocol.
    """
    bound = config.bind_socket()
    return socket.socket(fileno=bound.detach())


def _import_path(factory: Callable[[], FastAPI]) -> str:
    """'module:function' of ``factory``, which a worker process imports."""
    if "<" in factory.__qualname__:  # a lambda or a nested function cannot be imported by name
        raise ValueError(f"workers need a module-level app factory, not {factory.__qualname__}")
    return f"{factory.__module__}:{factory.__qualname__}"


@functools.cache
def worker_number() -> int | None:
    """This process's number among the workers of its supervisor (0, 1, ...), or None outside a supervisor.

    The lowest number no live worker holds: a flock on its file, released by the kernel however the holder ends,
    so a worker started in place of a dead one takes its number over.
    """
    directory = os.environ.get(WORKER_NUMBERS)
    if directory is None:
        return None
    number = 0
    while True:
        claim = os.open(os.path.join(directory, str(number)), os.O_CREAT | os.O_RDWR)
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(claim)
            number += 1
        else:
            return number  # the descriptor stays open, and the lock held, for the life of the process
