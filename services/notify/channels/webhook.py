"""The webhook channel: one signed JSON POST per delivery, signed as the Standard Webhooks specification says.

- ``webhook-id``: the delivery id, the same on every retry (receivers deduplicate on it);
- ``webhook-timestamp``: unix seconds of this attempt (receivers refuse old ones against replay);
- ``webhook-signature``: ``v1,`` + base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``, one space-separated
  entry per secret of the destination (two during a rotation), made by the ``standardwebhooks`` library.

Deprecated, for receivers written before, until the next release: ``X-Alliance-Delivery`` and
``X-Alliance-Timestamp`` (the same values) and ``X-Alliance-Signature``, ``sha256=`` + hex HMAC-SHA256 of
``{timestamp}.{body}`` keyed with the secret string as given. It has room for one secret: the oldest, the one
such a receiver already holds when a rotation starts.
"""

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from services.notify.channels import ChannelFailure
from services.notify.webhook_secrets import signing_key


def alliance_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The deprecated ``X-Alliance-Signature``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_headers(delivery_id: str, sent_at: int, body: str, secrets: Sequence[str]) -> dict[str, str]:
    """The signature headers of one attempt: the Standard Webhooks ones and the deprecated ``X-Alliance-*``.
    ``secrets`` are the destination's, newest first."""
    if not secrets:
        raise ValueError("a webhook is signed with at least one secret")
    moment = datetime.fromtimestamp(sent_at, UTC)
    signatures = [Webhook(signing_key(secret)).sign(delivery_id, moment, body) for secret in secrets]
    timestamp = str(sent_at)
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": " ".join(signatures),
        "X-Alliance-Delivery": delivery_id,
        "X-Alliance-Timestamp": timestamp,
        "X-Alliance-Signature": alliance_signature(secrets[-1], timestamp, body.encode()),
    }


class WebhookChannel:
    def __init__(self, client: httpx.AsyncClient, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._clock = clock

    async def send(self, url: str, delivery_id: str, payload: dict[str, Any], secrets: Sequence[str]) -> None:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        headers = {
            "Content-Type": "application/json",
            **signature_headers(delivery_id, int(self._clock()), body, secrets),
        }
        try:
            response = await self._client.post(url, content=body.encode(), headers=headers)
        except httpx.HTTPError as error:
            raise ChannelFailure(f"webhook unreachable: {type(error).__name__}") from error
        if not response.is_success:
            raise ChannelFailure(f"webhook answered {response.status_code}")
