"""A real HTTP server on loopback that records every webhook call it receives.

Built to take load as well (the benchmark uses it): HTTP/1.1 keep-alive, since notify's client reuses its
connections, and a deep listen backlog (the default of 5 resets connections under a burst, which notify then
retries with seconds of backoff).
"""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ReceivedCall:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: str
    received_at: float = field(default_factory=time.monotonic)
    status: int = 200

    def header(self, name: str) -> str:
        """One request header by its name in any case, as HTTP compares them."""
        found = {key.lower(): value for key, value in self.headers.items()}
        return found[name.lower()]


@dataclass
class WebhookReceiver:
    url: str
    calls: list[ReceivedCall] = field(default_factory=list)
    # Status codes to answer with, in order, before answering 200 (to simulate an unhealthy receiver).
    failures: list[int] = field(default_factory=list)
    # Every call, failed ones included, in arrival order.
    attempts: list[ReceivedCall] = field(default_factory=list)

    def calls_for(self, client_id: str) -> list[ReceivedCall]:
        return [call for call in self.calls if call.body.get("client_id") == client_id]


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    lock = threading.Lock()
    receiver = WebhookReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length).decode()
            body = json.loads(raw or "{}")
            with lock:
                status = receiver.failures.pop(0) if receiver.failures else 200
                call = ReceivedCall(self.path, dict(self.headers.items()), body, raw, status=status)
                receiver.attempts.append(call)
                if status == 200:
                    receiver.calls.append(call)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
