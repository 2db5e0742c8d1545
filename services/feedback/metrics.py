"""Prometheus metrics of the intake. Labels: clinic, instrument and reason only, never a person."""

from typing import Any

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class CountRefusals:
    """ASGI middleware: every refused write counts once, under its reason (one the handler named in
    ``request.state.refusal_reason``, such as ``erased``, or else the one of its status).

    Pure ASGI, watching the answer's status as it goes out: Starlette's ``BaseHTTPMiddleware`` ran each request
    in a task of its own with the answer streamed through a memory channel, about a third of the intake's CPU
    per POST."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and (status := message["status"]) >= 400:
                named = scope.get("state", {}).get("refusal_reason")
                REJECTED.labels(named or REASONS.get(status, "invalid" if status < 500 else "error")).inc()
            await send(message)

        await self.app(scope, receive, watched)
