"""Webhook secrets through the routing API: write-only per destination, kept when a PUT leaves them out, refused
with a 422 naming the field (and never repeating the secret). A client page receiver's own secrets sign its
links; a rotation signs even the retries of a delivery recorded before it; a routing without destination
secrets is stored as the release before stored it."""

import base64
import secrets
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from shared.auth import Scope
from tests.integration.notify.conftest import Notify, Publisher, rupture, verify
from tests.integration.notify.test_client_pages import note
from tests.support.waiting import eventually
from tests.support.webhook_receiver import ReceivedCall, WebhookReceiver

pytestmark = pytest.mark.integration
PLAIN = "clinic-secret-0123456789abcdef"


def whsec() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def verifies(secret: str, call: ReceivedCall) -> bool:
    try:
        Webhook(secret).verify(call.raw, call.headers)
    except WebhookVerificationError:
        return False
    return True


async def put(http: httpx.AsyncClient, notify: Notify, path: str, body: dict[str, Any]) -> httpx.Response:
    return await http.put(path, json=body, headers=notify.key(Scope.ADMIN))


def counts(shown: dict[str, Any]) -> dict[str, int]:
    """How many secrets the answer says each destination has."""
    found = {"clinic": shown["webhook_secrets_set"]}
    found |= {r["therapist_id"]: r["webhook_secrets_set"] for r in shown["therapists"]}
    found |= {r["supervisor_id"]: r["webhook_secrets_set"] for r in shown["supervisors"]}
    if shown["client_page"]:
        found["client_page"] = shown["client_page"]["webhook_secrets_set"]
    return found


async def test_secrets_are_write_only_per_destination_and_kept_until_replaced_or_cleared(
    notify: Notify,
) -> None:
    given = [whsec(), PLAIN, whsec(), whsec()]
    routing = {
        "therapists": [
            {"therapist_id": "t-1", "webhook_url": "https://hooks.example/t1", "webhook_secrets": [given[2]]}
        ],
        "supervisors": [{"supervisor_id": "s-1", "webhook_url": "https://hooks.example/s1"}],
        "client_page": {"webhook_url": "https://ehr.example/pages", "webhook_secrets": [given[3]]},
        "webhook_secrets": given[:2],  # a rotation off the plain secret
    }
    async with notify.running() as http:
        answers = [await put(http, notify, "/v1/routing", routing)]
        # Read, changed and put back without secrets (as a client that never saw them does): all kept.
        unchanged = {
            **routing,
            "min_severity": "high",
            "therapists": [{"therapist_id": "t-1", "webhook_url": "https://hooks.example/t1"}],
        }
        unchanged["client_page"] = {"webhook_url": "https://ehr.example/pages"}
        del unchanged["webhook_secrets"]
        answers.append(await put(http, notify, "/v1/routing", unchanged))
        answers.append(
            await put(
                http, notify, "/v1/routing/therapists/t-1", {"webhook_url": "https://hooks.example/t1b"}
            )
        )
        answers.append(
            await put(
                http,
                notify,
                "/v1/routing/therapists/t-1",
                {"webhook_url": "https://hooks.example/t1b", "webhook_secrets": []},
            )
        )
        answers.append(await put(http, notify, "/v1/routing", {**unchanged, "webhook_secrets": []}))
        stored = await notify.db["notify_routing"].find_one({"_id": notify.clinic_id})

    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    shown = [a.json() for a in answers]
    for answer in answers:
        assert not any(secret in answer.text for secret in given)
    assert counts(shown[0]) == {"clinic": 2, "t-1": 1, "s-1": 0, "client_page": 1}
    assert shown[0]["webhook_secret_set"] is True and shown[0]["webhook_secrets"] is None
    assert counts(shown[1]) == counts(shown[0]) and shown[1]["min_severity"] == "high"
    assert counts(shown[2]) == counts(shown[0])  # one therapist's channels: its secret kept
    assert counts(shown[3])["t-1"] == 0  # []: the clinic's sign its webhooks again
    assert counts(shown[4]) == {"clinic": 0, "t-1": 0, "s-1": 0, "client_page": 1}
    assert shown[4]["webhook_secret_set"] is False
    assert stored is not None and stored["client_page"]["webhook_secrets"] == [given[3]]


async def test_bad_secrets_are_refused_with_a_422_that_names_the_field(notify: Notify) -> None:
    newest = whsec()
    bad: list[tuple[dict[str, Any], list[Any]]] = [
        ({"webhook_secrets": ["whsec_c2hvcnQ="]}, ["body", "webhook_secrets", 0]),
        ({"webhook_secrets": [PLAIN]}, ["body", "webhook_secrets"]),
        ({"webhook_secrets": [newest, whsec(), whsec()]}, ["body", "webhook_secrets"]),
        ({"webhook_secrets": [newest, newest]}, ["body", "webhook_secrets"]),
        ({"webhook_secret": "too-short"}, ["body", "webhook_secret"]),
        (
            {
                "therapists": [
                    {"therapist_id": "t-1", "webhook_url": "https://hooks.example", "webhook_secrets": ["x"]}
                ]
            },
            ["body", "therapists", 0, "webhook_secrets", 0],
        ),
        (
            {"client_page": {"webhook_url": "https://ehr.example/p", "webhook_secrets": [PLAIN]}},
            ["body", "client_page", "webhook_secrets"],
        ),
    ]
    async with notify.running() as http:
        answers = [await put(http, notify, "/v1/routing", body) for body, _ in bad]
        therapist = await put(http, notify, "/v1/routing/therapists/t-1", {"webhook_secrets": [newest]})
        both = await put(http, notify, "/v1/routing", {"webhook_secret": PLAIN, "webhook_secrets": [newest]})
        stored = await notify.db["notify_routing"].count_documents({"_id": notify.clinic_id})

    for answer, (_, where) in zip(answers, bad, strict=True):
        assert answer.status_code == 422, answer.text
        assert where in [error["loc"] for error in answer.json()["detail"]], answer.text
    assert therapist.status_code == 422 and "give a webhook_url" in therapist.text
    assert both.status_code == 422 and "not both" in both.text
    for answer in [*answers, therapist, both]:  # a refusal never repeats a secret it was sent
        assert not any(secret in answer.text for secret in (newest, PLAIN, "whsec_c2hvcnQ=")), answer.text
    assert stored == 0  # nothing was stored


async def test_a_client_page_receivers_own_secrets_sign_its_links(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    newest, older, clinic = whsec(), whsec(), whsec()
    routing = {
        "client_page": {"webhook_url": webhook.url, "webhook_secrets": [newest, older]},
        "webhook_secrets": [clinic],
    }
    async with notify.running() as http:
        assert (await put(http, notify, "/v1/routing", routing)).status_code == 200
        await publish.note(notify.clinic_id, note(f"c-{unique}", f"n-{unique}"))
        await eventually(lambda: len(webhook.calls) == 1, what="the link")

    [call] = webhook.calls
    assert verifies(newest, call) and verifies(older, call)
    assert not verifies(clinic, call)
    assert verify(call, older)  # the deprecated header: the older secret, the one receivers held already


async def test_a_rotation_signs_the_retries_of_a_delivery_recorded_before_it(
    notify: Notify, publish: Publisher, webhook: WebhookReceiver, unique: str
) -> None:
    before, after = whsec(), whsec()
    client_id = f"c-{unique}"
    webhook.failures = [503, 503, 503]
    routing: dict[str, Any] = {
        "therapists": [{"therapist_id": "t-1", "webhook_url": webhook.url, "webhook_secrets": [before]}]
    }
    async with notify.running() as http:
        assert (await put(http, notify, "/v1/routing", routing)).status_code == 200
        await publish.rupture(notify.clinic_id, rupture(client_id))
        await eventually(lambda: len(webhook.attempts) >= 1, what="the first attempt")
        routing["therapists"][0]["webhook_secrets"] = [after]
        assert (await put(http, notify, "/v1/routing", routing)).status_code == 200
        await eventually(lambda: len(webhook.calls) == 1, what="the attempt the receiver takes")

    first, taken = webhook.attempts[0], webhook.calls[0]
    assert first.header("webhook-id") == taken.header("webhook-id")
    assert verifies(before, first) and not verifies(after, first)
    assert verifies(after, taken) and not verifies(before, taken)


async def test_a_routing_without_destination_secrets_is_stored_as_the_release_before_stored_it(
    notify: Notify,
) -> None:
    routing = {
        "therapists": [{"therapist_id": "t-1", "webhook_url": "https://hooks.example/t1"}],
        "client_page": {"webhook_url": "https://ehr.example/pages"},
        "webhook_secret": PLAIN,
    }
    async with notify.running() as http:
        assert (await put(http, notify, "/v1/routing", routing)).status_code == 200
        stored = await notify.db["notify_routing"].find_one({"_id": notify.clinic_id}, {"_id": 0})

    # The fields that release knew, and it refused any other: it can still read this routing.
    assert stored is not None
    assert set(stored) <= {
        "timezone",
        "therapists",
        "supervisors",
        "min_severity",
        "quiet_hours",
        "ack_deadline_hours",
        "webhook_secret",
        "client_page",
    }
    assert set(stored["therapists"][0]) <= {"therapist_id", "email", "webhook_url", "slack"}
    assert set(stored["client_page"]) <= {"webhook_url", "days"}
    assert stored["webhook_secret"] == PLAIN
