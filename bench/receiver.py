"""The webhook the live notify service posts alerts to, recording when each arrived.

Like tests/support's receiver, but built for load: HTTP/1.1 keep-alive (notify's client reuses connections
instead of opening one per alert) and a deep listen backlog (the default of 5 resets connections under a
burst, which notify then retries with seconds of backoff: the benchmark would measure its own receiver).
"""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.webhook_receiver import ReceivedCall, WebhookReceiver


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
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            call = ReceivedCall(self.path, dict(self.headers.items()), json.loads(raw or "{}"), raw)
            with lock:
                receiver.attempts.append(call)
                receiver.calls.append(call)
            self.send_response(200)
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
