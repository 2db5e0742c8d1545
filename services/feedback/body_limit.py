"""Refuses oversized request bodies with 413 before anything parses them (pure ASGI, so nothing buffers more)."""

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ONE_EVENT_LIMIT = 64 * 1024
BATCH_LIMIT = 1024 * 1024
BATCH_PATH = "/v1/events:batch"


def limit_for(path: str) -> int:
    return BATCH_LIMIT if path == BATCH_PATH else ONE_EVENT_LIMIT


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, scope["path"], limit)
            return
        # Read the body up to the limit (chunked uploads declare no length), then hand it on.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(send, scope["path"], limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(send: Send, path: str, limit: int) -> None:
    reason = f"request body larger than {limit} bytes"
    if path.startswith("/v1/fhir/"):  # FHIR clients expect an OperationOutcome
        content_type = b"application/fhir+json"
        document: object = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "too-costly", "diagnostics": reason}],
        }
    else:
        content_type, document = b"application/json", {"detail": reason}
    body = json.dumps(document).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
