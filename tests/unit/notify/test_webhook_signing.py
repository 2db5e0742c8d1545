"""Signing a webhook: the Standard Webhooks headers, one signature per secret, plain secrets, the deprecated
X-Alliance-* headers, and the channel that sends them."""

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from services.notify.channels import ChannelFailure
from services.notify.channels.webhook import WebhookChannel, signature_headers
from services.notify.webhook_secrets import verifier_secret

BODY = '{"delivery_id":"d-1","summary":"Bündnis – brüchig"}'  # non-ASCII: signed as its UTF-8 bytes
PLAIN = "clinic-secret-0123456789abcdef"


def whsec(size: int = 32) -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(size)).decode()


def spec_signature(key: bytes, delivery_id: str, sent_at: int, body: str) -> str:
    """The signature as the specification defines it, computed here without the library."""
    digest = hmac.new(key, f"{delivery_id}.{sent_at}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def now() -> int:
    return int(time.time())


def test_one_secret_gives_the_three_standard_headers_as_the_specification_defines_them() -> None:
    secret, sent_at = whsec(), now()
    headers = signature_headers("d-1", sent_at, BODY, [secret])

    assert headers["webhook-id"] == "d-1"
    assert headers["webhook-timestamp"] == str(sent_at)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    assert headers["webhook-signature"] == spec_signature(key, "d-1", sent_at, BODY)
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_during_a_rotation_both_secrets_sign_newest_first_and_each_verifies_alone() -> None:
    newest, older, sent_at = whsec(), whsec(48), now()
    headers = signature_headers("d-1", sent_at, BODY, [newest, older])

    entries = headers["webhook-signature"].split(" ")
    assert entries == [
        spec_signature(base64.b64decode(s.removeprefix("whsec_")), "d-1", sent_at, BODY)
        for s in (newest, older)
    ]
    for secret in (newest, older):
        assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(whsec()).verify(BODY, headers)


def test_a_plain_secret_signs_with_its_utf8_bytes_which_its_whsec_form_names() -> None:
    sent_at = now()
    headers = signature_headers("d-1", sent_at, BODY, [PLAIN])

    assert headers["webhook-signature"] == spec_signature(PLAIN.encode(), "d-1", sent_at, BODY)
    assert verifier_secret(PLAIN) == "whsec_" + base64.b64encode(PLAIN.encode()).decode()
    assert Webhook(verifier_secret(PLAIN)).verify(BODY, headers) == json.loads(BODY)
    assert Webhook(PLAIN.encode()).verify(BODY, headers) == json.loads(BODY)  # the raw key works as well


def test_the_deprecated_headers_are_unchanged_and_keyed_with_the_oldest_secret() -> None:
    newest, sent_at = whsec(), now()
    headers = signature_headers("d-1", sent_at, BODY, [newest, PLAIN])

    assert headers["X-Alliance-Delivery"] == "d-1"
    assert headers["X-Alliance-Timestamp"] == str(sent_at)
    # As receivers written before check it: sha256= hex HMAC of "timestamp.body", the secret string as key.
    expected = hmac.new(PLAIN.encode(), f"{sent_at}.{BODY}".encode(), hashlib.sha256).hexdigest()
    assert headers["X-Alliance-Signature"] == f"sha256={expected}"
    alone = signature_headers("d-1", sent_at, BODY, [newest])["X-Alliance-Signature"]
    assert alone == "sha256=" + hmac.new(newest.encode(), f"{sent_at}.{BODY}".encode(), "sha256").hexdigest()


def test_a_changed_body_id_or_timestamp_fails_verification() -> None:
    secret, sent_at = whsec(), now()
    headers = signature_headers("d-1", sent_at, BODY, [secret])

    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(BODY.replace("d-1", "d-2"), headers)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "d-2"})
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(BODY, {**headers, "webhook-timestamp": str(sent_at + 1)})
    old = signature_headers("d-1", sent_at - 600, BODY, [secret])
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, old)


def test_nothing_is_signed_without_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        signature_headers("d-1", now(), BODY, [])


class Recorded:
    """The requests a fake transport answered, and the status it answers with."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status)


async def test_the_channel_posts_the_signed_bytes_with_the_attempts_time() -> None:
    recorded, secret, payload = Recorded(), whsec(), {"delivery_id": "d-1", "words": "Bündnis"}
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorded)) as client:
        channel = WebhookChannel(client, clock=lambda: 1_800_000_000.9)
        await channel.send("https://receiver.example/hook", "d-1", payload, [secret])

    [request] = recorded.requests
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-timestamp"] == "1800000000"
    body = request.content.decode()
    assert json.loads(body) == payload
    key = base64.b64decode(secret.removeprefix("whsec_"))
    assert request.headers["webhook-signature"] == spec_signature(key, "d-1", 1_800_000_000, body)


@pytest.mark.parametrize("status", [400, 500])
async def test_an_answer_other_than_2xx_is_a_failed_attempt(status: int) -> None:
    payload: dict[str, Any] = {"delivery_id": "d-1"}
    async with httpx.AsyncClient(transport=httpx.MockTransport(Recorded(status))) as client:
        with pytest.raises(ChannelFailure, match=f"webhook answered {status}"):
            await WebhookChannel(client).send("https://receiver.example/hook", "d-1", payload, [whsec()])
