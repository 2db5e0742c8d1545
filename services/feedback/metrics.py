"""Prometheus metrics of the intake. Labels: clinic, instrument and reason only, never a person."""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from prometheus_client import Counter

from shared.contracts import FEEDBACK_SUBMITTED, SESSION_COMPLETED, CloudEvent, EventKind

RATINGS_ACCEPTED = Counter(
    "alliance_feedback_accepted_total", "Ratings Kafka acknowledged.", ["clinic", "instrument"]
)
SESSIONS_ACCEPTED = Counter(
    "alliance_sessions_accepted_total", "Session records Kafka acknowledged.", ["clinic"]
)
REJECTED = Counter("alliance_feedback_rejected_total", "Intake requests refused, by reason.", ["reason"])

# Why a write was refused, by HTTP status; anything else 4xx is "invalid".
REASONS = {
    401: "unauthorized",
    403: "forbidden",
    409: "conflict",
    410: "expired",
    413: "too_large",
    429: "rate_limited",
    503: "unavailable",
}


def count_accepted(kind: EventKind[Any], event: CloudEvent[Any]) -> None:
    if kind is FEEDBACK_SUBMITTED:
        RATINGS_ACCEPTED.labels(event.clinicid, event.data.instrument.value).inc()
    elif kind is SESSION_COMPLETED:
        SESSIONS_ACCEPTED.labels(event.clinicid).inc()


async def count_refusals(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """HTTP middleware: every refused write counts once, under its reason (one the handler named, such as
    ``erased``, or else the one of its status)."""
    response = await call_next(request)
    if request.method == "POST" and response.status_code >= 400:
        named = getattr(request.state, "refusal_reason", None)
        REJECTED.labels(
            named or REASONS.get(response.status_code, "invalid" if response.status_code < 500 else "error")
        ).inc()
    return response
