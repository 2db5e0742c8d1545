"""What the services' logging keeps out of the log lines."""

import json
import logging

import httpx
import pytest

from shared.logging import configure_logging


async def test_a_webhook_call_does_not_put_its_url_in_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("notify")
    answered = httpx.MockTransport(lambda request: httpx.Response(204))
    async with httpx.AsyncClient(transport=answered) as client:
        response = await client.post("https://hooks.example/in/secret-token?sig=abc", json={})
    assert response.status_code == 204
    logging.getLogger("notify.worker").info("alert sent")  # the service's own line still reaches the log

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert [line["event"] for line in lines] == ["alert sent"]
    assert not any("secret-token" in json.dumps(line) for line in lines)
