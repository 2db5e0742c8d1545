"""The webhook channel: one JSON POST per alert, with an id header receivers can deduplicate on."""

from typing import Any

import httpx

from shared.messaging import TransientFailure


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, client: httpx.AsyncClient) -> None:
        self._url = url
        self._client = client

    async def send(self, delivery_id: str, body: dict[str, Any]) -> None:
        try:
            response = await self._client.post(
                self._url, json=body, headers={"X-Alliance-Delivery": delivery_id}
            )
        except httpx.TransportError as error:
            raise TransientFailure(f"webhook unreachable: {type(error).__name__}") from error
        if response.status_code >= 300:
            raise TransientFailure(f"webhook answered {response.status_code}")
