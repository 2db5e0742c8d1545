"""The alert sinks of the reliability runs: a webhook receiver that checks signatures and an SMTP server.

The webhook receiver verifies every call as docs/notify.md tells receivers to (the Standard Webhooks headers,
checked by that specification's own library; the platform's plain secret is given to it in its ``whsec_``
form), deduplicates on ``webhook-id``, records the calls it accepted, and can be made unavailable:
``outage("503")`` answers 503 to everything, ``outage("closed")`` closes the listening socket (connections are
refused) until ``recover()`` opens it again on the same port.
"""

import base64
import functools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from standardwebhooks import Webhook, WebhookVerificationError

Outage = Literal["503", "closed"]


@functools.cache
def verifier(secret: str) -> Webhook:
    """A receiver's verifier for a plain (pre-``whsec_``) secret: its key is the secret's UTF-8 bytes."""
    return Webhook("whsec_" + base64.b64encode(secret.encode()).decode())


@dataclass(frozen=True)
class WebhookCall:
    delivery_id: str
    body: dict[str, Any]
    raw: str
    signature_valid: bool
    received_at: float


@dataclass
class SignedWebhookReceiver:
    secret: str
    port: int = 0
    calls: list[WebhookCall] = field(default_factory=list)
    refused: int = 0  # calls answered 503 during an outage
    bad_signatures: int = 0
    _mode: Outage | None = None
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def open(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver._take(dict(self.headers.items()), raw)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True, name="webhook-receiver").start()
        self._server = server

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def outage(self, mode: Outage) -> None:
        self._mode = mode
        if mode == "closed":
            self.close()

    def recover(self) -> None:
        if self._mode == "closed":
            self.open()
        self._mode = None

    def _take(self, headers: dict[str, str], raw: bytes) -> int:
        if self._mode is not None:
            with self._lock:
                self.refused += 1
            return 503
        try:
            verifier(self.secret).verify(raw, headers)
            valid = True
        except WebhookVerificationError:
            valid = False
        with self._lock:
            if not valid:
                self.bad_signatures += 1
                return 401  # a receiver refuses what it cannot verify
            self.calls.append(
                WebhookCall(
                    next((v for k, v in headers.items() if k.lower() == "webhook-id"), ""),
                    json.loads(raw),
                    raw.decode(),
                    valid,
                    time.monotonic(),
                )
            )
        return 200

    def snapshot(self) -> list[WebhookCall]:
        with self._lock:
            return list(self.calls)


@contextmanager
def signed_webhook_receiver(secret: str) -> Iterator[SignedWebhookReceiver]:
    receiver = SignedWebhookReceiver(secret)
    receiver.open()
    try:
        yield receiver
    finally:
        receiver.close()


@dataclass
class Mailbox:
    """An SMTP server (aiosmtpd) that keeps every message; ``outage()`` answers 451 (try again later)."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    refused: int = 0
    down: bool = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.down:
            self.refused += 1
            return "451 4.3.0 mailbox temporarily unavailable"
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@contextmanager
def smtp_server(port: int) -> Iterator[Mailbox]:
    mailbox = Mailbox(port)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
