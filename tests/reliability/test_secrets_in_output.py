"""A client's comment, a note shared with a client and the client's answer to it (sent from the client's own
page, whose link is a credential too), the client's goals, and the API keys never leave the database: not in any
service's log (every incarnation, crashes included), not in /metrics, not in an alert (webhook bodies and
e-mails)."""

import asyncio
import time
import uuid

import httpx
import pytest
from markupsafe import escape

from reliability.platform import CLIENT_PAGE_SECRET, LINK_SECRET, WEBHOOK_SECRET
from tests.reliability.conftest import Reliability
from tests.reliability.tenants import SERVICES, Tenants, set_up


@pytest.fixture(scope="module")
async def tenants(reliability: Reliability) -> Tenants:
    return await set_up(reliability)


async def agree_and_rate_goals(reliability: Reliability, tenants: Tenants) -> str:
    """Goals agreed for the alerted client, shown on their gbo form (so feedback has read and stored them) and
    rated there; returns the first goal's words."""
    platform = reliability.platform
    text = f"echidna-{uuid.uuid4().hex} sleep through most nights"
    key = {"Authorization": f"Bearer {platform.keys[tenants.a].ingest}"}
    session = {
        "client_id": tenants.client_id,
        "therapist_id": tenants.therapist_id,
        "session_id": f"s-goals-{uuid.uuid4().hex[:8]}",
        "session_at": "2026-11-20T10:00:00+00:00",
    }
    goals = [{"goal_id": "g-1", "text": text}, {"goal_id": "g-2", "text": "walk to work twice a week"}]
    async with httpx.AsyncClient(timeout=10) as http:
        agreed = await http.post(
            platform.url("feedback") + "/v1/goals", json={**session, "goals": goals}, headers=key
        )
        assert agreed.status_code == 202, agreed.text
        issued = await http.post(
            platform.url("feedback") + "/v1/feedback-links",
            json={**session, "instrument": "gbo"},
            headers=key,
        )
        assert issued.status_code == 201, issued.text
        url = issued.json()["url"]
        deadline = time.monotonic() + 60
        while str(escape(text)) not in (form := (await http.get(url)).text):
            assert time.monotonic() < deadline, "the goals did not reach the gbo form"
            await asyncio.sleep(0.3)
        shown = form.split('name="goals_shown" value="', 1)[1].split('"', 1)[0]
        rated = await http.post(url, data={"goal_1": "4", "goal_2": "6", "goals_shown": shown})
        assert rated.status_code == 200, rated.text
    return text


async def test_comment_goals_and_keys_appear_in_no_log_metric_or_alert(
    reliability: Reliability, tenants: Tenants
) -> None:
    platform = reliability.platform
    goal_text = await agree_and_rate_goals(reliability, tenants)
    logs = {
        path.name: path.read_text(errors="replace")
        for path in platform.log_dir.glob("*.log")
        if path.name.split(".")[0].split("-")[0] in SERVICES
    }
    async with httpx.AsyncClient(timeout=10) as http:
        metrics = {service: (await http.get(platform.url(service) + "/metrics")).text for service in SERVICES}
    alerts = [call.raw for call in reliability.webhook.snapshot()]
    mails = [message.as_string() for message in reliability.mailbox.messages]
    secrets = [tenants.comment, tenants.comment.split()[0], tenants.revoked_key, LINK_SECRET, WEBHOOK_SECRET]
    secrets += [tenants.note_text.split()[0], tenants.note_comment.split()[0], CLIENT_PAGE_SECRET]
    secrets += [tenants.page_token, tenants.page_token.rsplit(".", 1)[1]]  # the whole link, and its signature
    secrets += [goal_text.split()[0]]
    secrets += [key for keys in platform.keys.values() for key in (keys.ingest, keys.read, keys.admin)]

    places = {**logs, **{f"{s} /metrics": text for s, text in metrics.items()}}
    places |= {f"alert {i}": text for i, text in enumerate(alerts)}
    places |= {f"e-mail {i}": text for i, text in enumerate(mails)}
    found = [
        f"{secret[:12]}... in {place}"
        for place, text in places.items()
        for secret in secrets
        if secret in text
    ]

    assert not found, found
    # The scan looked at real output: every service logged, exported metrics, and alerts went out.
    assert {name.split(".")[0] for name in logs} >= set(SERVICES)
    assert all("alliance_" in text for text in metrics.values())
    assert any(tenants.rupture_id in text for text in alerts)
