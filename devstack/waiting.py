"""Bounded waiting: every wait has a deadline, notices when the process it waits for has died,
and fails with the log excerpt that explains why."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

from devstack.errors import StackError, failure


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    log_path: Path,
    alive: Callable[[], bool] | None = None,
    interval: float = 0.25,
) -> float:
    """Poll `check` until it returns True; return the seconds waited.

    `check` may raise while the thing is still coming up: that counts as "not yet", and the last
    such error is quoted if the deadline passes. If `alive` says the process died, fail at once.
    """
    started = time.monotonic()
    deadline = started + timeout
    last_error: Exception | None = None
    while True:
        try:
            if check():
                return time.monotonic() - started
        except Exception as exc:  # any error here just means "not ready yet"
            last_error = exc
        if alive is not None and not alive():
            raise failure(f"{what}: the process exited while starting", log_path)
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise failure(f"{what}: not ready after {timeout:.0f} s{detail}", log_path)
        time.sleep(interval)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def require_free_ports(owner: str, ports: dict[str, int], host: str = "127.0.0.1") -> None:
    """Refuse to start `owner` on a port someone else holds: we would wait on, or talk to, the wrong server."""
    for label, port in ports.items():
        if port_in_use(port, host):
            raise StackError(
                f"cannot start {owner}: {host}:{port} ({label}) is already in use by a process this "
                f"stack did not start. Stop it, or choose other ports (see `python -m devstack --help`)."
            )
