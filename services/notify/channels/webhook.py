"""The webhook channel: one signed JSON POST per delivery.

Headers: ``X-Alliance-Delivery`` (stable across retries: receivers deduplicate on it), ``X-Alliance-Timestamp``
(unix seconds of this attempt: receivers refuse old ones against replay) and ``X-Alliance-Signature``
(``sha256=`` + hex HMAC-SHA256 over ``timestamp + "." + body`` with the clinic's secret).
"""

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from services.notify.channels import ChannelFailure


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, url: str, delivery_id: str, payload: dict[str, Any], secret: str) -> None:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Alliance-Delivery": delivery_id,
            "X-Alliance-Timestamp": timestamp,
            "X-Alliance-Signature": signature(secret, timestamp, body),
        }
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise ChannelFailure(f"webhook unreachable: {type(error).__name__}") from error
        if not response.is_success:
            raise ChannelFailure(f"webhook answered {response.status_code}")
