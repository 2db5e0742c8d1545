"""The three application services and the demo-data seed: what to run and how to tell they are ready."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    name: str
    module: str  # run as `python -m <module>`
    port_env: str  # the variable the service reads its HTTP port from

    @property
    def public_url_env(self) -> str:
        """Where browsers reach it (links to the client form, the views, a client's page start there)."""
        return self.port_env.replace("_PORT", "_PUBLIC_URL")


SERVICES: tuple[Service, ...] = (
    Service("feedback", "services.feedback", "FEEDBACK_PORT"),
    Service("scoring", "services.scoring", "SCORING_PORT"),
    Service("notify", "services.notify", "NOTIFY_PORT"),
)

# Creates clinic `demo` with API key $DEMO_API_KEY (default dev-demo-key); idempotent.
SEED_ARGS: tuple[str, ...] = ("-m", "services.feedback.admin", "ensure-demo-clinic")
DEFAULT_DEMO_API_KEY = "dev-demo-key"


def service_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def is_ready(port: int) -> bool:
    """One attempt: does GET /readyz answer 200?"""
    try:
        with urllib.request.urlopen(f"{service_url(port)}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError:
        return False  # answering, but not ready (503 while it connects to Kafka/Mongo, say)
