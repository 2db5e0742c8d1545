"""Signed links, against the running services: feedback links (client form) and acknowledgement links
(alerts): tampered, expired and replayed."""

import json
import string
import time
import uuid
from datetime import UTC, datetime, timedelta
from unittest import mock

import httpx
import pytest

from reliability.platform import ACK_SECRET, LINK_SECRET
from services.feedback.links.tokens import LinkSigner
from services.notify.acknowledgement import AckClaim, AckLinks
from shared import topics
from tests.reliability.conftest import Reliability
from tests.reliability.tenants import Tenants, set_up
from tests.support.kafka import records_matching


@pytest.fixture(scope="module")
async def tenants(reliability: Reliability) -> Tenants:
    return await set_up(reliability)


BASE64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


def tampered(token: str) -> list[str]:
    """The token with one character changed at the start, the middle and the end, and cut short.

    A character is changed in its top bit. The last character of a base64 signature carries unused low bits,
    so changing only those leaves the decoded signature, and the token, as valid as before.
    """

    def flip(i: int) -> str:
        position = BASE64URL.find(token[i])
        changed = BASE64URL[(position + 32) % 64] if position >= 0 else "A"
        return token[:i] + changed + token[i + 1 :]

    return [flip(0), flip(len(token) // 2), flip(len(token) - 1), token[:-4]]


def form_link(secret: str, clinic: str, client_id: str, session: str, lifetime: timedelta) -> str:
    """A feedback-form token for the client's session ``session``, signed with ``secret``."""
    _, token = LinkSigner(secret).issue(
        clinic_id=clinic,
        client_id=client_id,
        therapist_id="t-link",
        session_id=f"{client_id}-{session}",
        session_at=datetime(2026, 5, 4, 10, tzinfo=UTC),
        instrument="srs",
        lifetime=lifetime,
    )
    return token


async def test_feedback_links_tampered_expired_and_replayed(
    reliability: Reliability, tenants: Tenants
) -> None:
    feedback = reliability.platform.url("feedback")
    client_id = f"c-link-{uuid.uuid4().hex[:8]}"
    request = {
        "client_id": client_id,
        "therapist_id": "t-link",
        "session_id": f"{client_id}-s1",
        "session_at": "2026-05-04T10:00:00+00:00",
        "instrument": "srs",
    }
    form = {"relationship": "9", "goals": "9", "approach": "9", "overall": "9"}
    async with httpx.AsyncClient(timeout=20) as http:
        issued = await http.post(
            feedback + "/v1/feedback-links",
            json=request,
            headers={"Authorization": f"Bearer {reliability.platform.keys[tenants.a].ingest}"},
        )
        assert issued.status_code == 201, issued.text
        path = httpx.URL(issued.json()["url"]).path
        token = path.rsplit("/", 1)[1]

        for bad in tampered(token):
            assert (await http.get(f"{feedback}/f/{bad}")).status_code == 400
            assert (await http.post(f"{feedback}/f/{bad}", data=form)).status_code == 400

        # Signed with the service's own secret but past its expiry: 410, before and at submission.
        expired = form_link(LINK_SECRET, tenants.a, client_id, "s2", lifetime=timedelta(hours=-1))
        assert (await http.get(f"{feedback}/f/{expired}")).status_code == 410
        assert (await http.post(f"{feedback}/f/{expired}", data=form)).status_code == 410
        # Signed with another secret: tampered, whatever it claims.
        forged = form_link("not-the-secret", tenants.a, client_id, "s3", lifetime=timedelta(hours=1))
        assert (await http.post(f"{feedback}/f/{forged}", data=form)).status_code == 400

        first = await http.post(f"{feedback}{path}", data=form)
        replay = await http.post(f"{feedback}{path}", data=form)
        assert first.status_code == 200, first.text
        assert replay.status_code == 409
        assert (await http.get(f"{feedback}{path}")).status_code == 409

    records = await records_matching(
        reliability.platform.env["KAFKA_BOOTSTRAP_SERVERS"],
        topics.CLIENT_EVENTS.name,
        lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
        expected=1,
        within=30,
        settle=2,
    )
    assert len(records) == 1  # the used link made exactly one event; nothing else got through


async def test_acknowledgement_links_tampered_expired_and_replayed(
    reliability: Reliability, tenants: Tenants
) -> None:
    notify = reliability.platform.url("notify")
    alert = next(
        c.body for c in reliability.webhook.snapshot() if c.body.get("rupture_id") == tenants.rupture_id
    )
    path = httpx.URL(alert["acknowledge_url"]).path
    token = path.rsplit("/", 1)[1]
    links = AckLinks(ACK_SECRET, notify, 30)
    with mock.patch("time.time", return_value=time.time() - 31 * 86400):
        expired = links.url(AckClaim(tenants.a, tenants.rupture_id, tenants.therapist_id)).rsplit("/", 1)[1]
    forged = AckLinks("not-the-secret", notify, 30).url(AckClaim(tenants.a, tenants.rupture_id, "t-x"))

    async with httpx.AsyncClient(timeout=20) as http:
        for bad in [*tampered(token), expired]:
            assert (await http.get(f"{notify}/v1/acknowledgements/{bad}")).status_code == 404, bad
            assert (await http.post(f"{notify}/v1/acknowledgements/{bad}")).status_code == 404, bad
        assert (await http.post(forged)).status_code == 404
        assert (await http.get(f"{notify}{path}")).status_code == 200  # GET only shows the page
        first = await http.post(f"{notify}{path}")
        replay = await http.post(f"{notify}{path}")
        assert first.status_code == replay.status_code == 200
        assert first.text == replay.text  # the same acknowledgement, the same time

    records = await records_matching(
        reliability.platform.env["KAFKA_BOOTSTRAP_SERVERS"],
        topics.RUPTURE_ACKNOWLEDGED.name,
        lambda r: json.loads(r.value)["data"]["rupture_id"] == tenants.rupture_id,
        expected=1,
        within=30,
        settle=2,
    )
    assert len(records) == 1  # a replayed link adds no second acknowledgement
