"""Webhook deliveries as receivers check them with the Standard Webhooks libraries the platform did not write:
``standardwebhooks`` from PyPI and from npm (tests/conformance/node/verify-webhook.mjs).

The deliveries are real: notify (in this process, on the session's Kafka and MongoDB) plans them from a
``rupture.suspected`` event and its worker POSTs them over HTTP to a receiver on loopback, whose captured request
(raw body and headers) is what the libraries verify. During a rotation each of the two secrets verifies alone; a
route's own secret signs that route's deliveries only; a plain secret stored before ``whsec_`` secrets existed
verifies in the ``whsec_`` form the docs tell receivers to configure; a changed body and an old timestamp fail.
"""

import base64
import json
import secrets
import time
import uuid
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from services.notify.channels.webhook import WebhookChannel
from shared.auth import Scope
from shared.contracts import Severity
from tests.conformance.node import NodeScriptFailed, run_node
from tests.integration.notify.conftest import (
    Notify,
    Publisher,
    notify,
    publish,
    rupture,
    smtp,
    verify,
    webhook,
)
from tests.support.waiting import eventually
from tests.support.webhook_receiver import ReceivedCall, WebhookReceiver, webhook_receiver

# notify in this process with its Kafka, MongoDB, SMTP and webhook receiver, as its integration tests have it.
__all__ = ["notify", "publish", "smtp", "webhook"]


def new_secret() -> str:
    """A secret in the Standard Webhooks form: ``whsec_`` and the base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def python_verified(secret: str, call: ReceivedCall) -> Any:
    return Webhook(secret).verify(call.raw, call.headers)


async def node_verified(secret: str, call: ReceivedCall) -> Any:
    answer = await run_node(
        "verify-webhook.mjs", {"secret": secret, "body": call.raw, "headers": call.headers}
    )
    assert answer["verified"] is True
    return answer["payload"]


async def verified_in_both(secret: str, call: ReceivedCall) -> None:
    assert python_verified(secret, call) == call.body
    assert await node_verified(secret, call) == call.body


async def refused_in_both(secret: str, call: ReceivedCall, reason: str) -> None:
    with pytest.raises(WebhookVerificationError, match=reason):
        python_verified(secret, call)
    with pytest.raises(NodeScriptFailed, match=f"WebhookVerificationError: {reason}"):
        await node_verified(secret, call)


def tampered(call: ReceivedCall) -> ReceivedCall:
    """The same request with one value of its body changed (a medium alert made high)."""
    raw = call.raw.replace('"severity":"medium"', '"severity":"high"', 1)
    assert raw != call.raw
    return ReceivedCall(call.path, call.headers, json.loads(raw), raw)


@pytest.mark.integration
async def test_during_a_rotation_each_secret_verifies_a_real_delivery_alone_in_python_and_node(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    newest, older, clinic_secret, stranger = new_secret(), new_secret(), new_secret(), new_secret()
    client_id = f"c-{unique}"
    routing = {
        "therapists": [
            {
                "therapist_id": "t-1",
                "webhook_url": f"{webhook.url}/therapist",
                "webhook_secrets": [newest, older],
            }
        ],
        "supervisors": [{"supervisor_id": "sup-1", "webhook_url": f"{webhook.url}/supervisor"}],
        "webhook_secrets": [clinic_secret],
    }
    async with notify.running() as http:
        answer = await http.put("/v1/routing", json=routing, headers=notify.key(Scope.ADMIN))
        assert answer.status_code == 200, answer.text
        # A stale episode goes to the therapist and, at once, to the supervisors: two routes, two secrets.
        await publish.rupture(notify.clinic_id, rupture(client_id, severity=Severity.MEDIUM, stale=True))
        await eventually(lambda: len(webhook.calls_for(client_id)) >= 2, what="both deliveries")

    [to_therapist] = [c for c in webhook.calls_for(client_id) if c.path == "/hook/therapist"]
    [to_supervisor] = [c for c in webhook.calls_for(client_id) if c.path == "/hook/supervisor"]
    for call in (to_therapist, to_supervisor):
        assert call.header("webhook-id") == call.body["delivery_id"] == call.headers["X-Alliance-Delivery"]
        assert call.header("webhook-timestamp") == call.headers["X-Alliance-Timestamp"]
        assert abs(int(call.header("webhook-timestamp")) - time.time()) < 60
    assert [s.split(",")[0] for s in to_therapist.header("webhook-signature").split(" ")] == ["v1", "v1"]

    # The therapist's route signs with its own two secrets, each enough on its own; not with the clinic's.
    await verified_in_both(newest, to_therapist)
    await verified_in_both(older, to_therapist)
    await refused_in_both(clinic_secret, to_therapist, "No matching signature found")
    await refused_in_both(stranger, to_therapist, "No matching signature found")
    # The supervisor has no secret of its own: the clinic's signs.
    await verified_in_both(clinic_secret, to_supervisor)
    await refused_in_both(newest, to_supervisor, "No matching signature found")
    # One changed value in the body, the headers kept: no secret verifies it.
    await refused_in_both(newest, tampered(to_therapist), "No matching signature found")
    await refused_in_both(older, tampered(to_therapist), "No matching signature found")


@pytest.mark.integration
async def test_a_routing_stored_with_a_plain_secret_signs_what_its_whsec_form_verifies(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    plain = f"plain-secret-{unique}-{uuid.uuid4().hex}"
    client_id = f"c-{unique}"
    # The document exactly as notify stored a routing before secrets had the Standard Webhooks form.
    await notify.db["notify_routing"].insert_one(
        {
            "_id": notify.clinic_id,
            "timezone": "UTC",
            "therapists": [
                {"therapist_id": "t-1", "email": None, "webhook_url": webhook.url, "slack": False}
            ],
            "supervisors": [],
            "min_severity": "medium",
            "quiet_hours": None,
            "ack_deadline_hours": 48.0,
            "webhook_secret": plain,
            "client_page": None,
        }
    )
    async with notify.running() as http:
        shown = await http.get("/v1/routing", headers=notify.key(Scope.ADMIN))
        await publish.rupture(notify.clinic_id, rupture(client_id))
        await eventually(lambda: len(webhook.calls_for(client_id)) >= 1, what="the delivery")

    assert shown.status_code == 200, shown.text
    assert shown.json()["webhook_secret_set"] is True and shown.json()["webhook_secret"] is None
    [call] = webhook.calls_for(client_id)
    # What docs/notify.md tells the receiver of a plain secret to configure: whsec_ + base64 of its UTF-8 bytes.
    await verified_in_both("whsec_" + base64.b64encode(plain.encode()).decode(), call)
    await refused_in_both(new_secret(), call, "No matching signature found")
    assert verify(call, plain)  # the deprecated X-Alliance-Signature, unchanged


async def test_a_delivery_older_than_five_minutes_is_refused_in_python_and_node(unique: str) -> None:
    secret = new_secret()
    ten_minutes_ago = time.time() - 600
    with webhook_receiver() as receiver:
        async with httpx.AsyncClient(timeout=5.0) as client:
            # notify's channel, its clock ten minutes behind: a correctly signed request, replayed too late.
            channel = WebhookChannel(client, clock=lambda: ten_minutes_ago)
            payload = {"delivery_id": f"d-{unique}", "severity": "medium"}
            await channel.send(receiver.url, f"d-{unique}", payload, [secret])
        [call] = receiver.calls

    assert int(call.header("webhook-timestamp")) == int(ten_minutes_ago)
    await refused_in_both(secret, call, "Message timestamp too old")
