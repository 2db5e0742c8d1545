"""The intake ceiling: a bare ASGI app under the same server (uvicorn) that publishes each request's body to
Kafka with the feedback service's own producer (`intake_broker`: acks=all, the same linger and timeouts) and
answers 202 once Kafka acknowledged. No routing framework, authentication, validation, sealing or metrics: what
`POST /v1/feedback` costs beyond this is the service's own work.

`python -m bench.intake_ceiling --port N` (the bench starts it as a process beside the feedback service).
"""

import argparse
import json
from typing import Any

import uvicorn
from faststream.kafka import KafkaBroker

from services.feedback.event_store import intake_broker
from services.feedback.settings import FeedbackSettings
from shared.topics import Topic

TOPIC = Topic("bench.intake-ceiling", 6)  # as many partitions as client.events
ACCEPTED = json.dumps({"status": "accepted"}).encode()


class IntakeCeiling:
    """An ASGI app: every POST's body goes to Kafka, keyed like the intake keys it (a new key per request)."""

    def __init__(self, broker: KafkaBroker) -> None:
        self.broker = broker
        self.count = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status = 405
        if scope["method"] == "POST":
            self.count += 1
            confirmation = await self.broker.publish(
                body, topic=TOPIC.name, key=str(self.count).encode(), no_confirm=True
            )
            await confirmation
            status = 202
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": ACCEPTED if status == 202 else b""})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.broker.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.broker.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.intake_ceiling", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = FeedbackSettings()
    app = IntakeCeiling(intake_broker(settings, "bench-ceiling"))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
