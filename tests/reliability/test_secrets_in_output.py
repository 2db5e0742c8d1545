"""A client's comment, a note shared with a client and the client's answer to it (sent from the client's own
page, whose link is a credential too), and the API keys never leave the database: not in any service's log (every incarnation,
crashes included), not in /metrics, not in an alert (webhook bodies and e-mails)."""

import httpx
import pytest

from reliability.platform import CLIENT_PAGE_SECRET, LINK_SECRET, WEBHOOK_SECRET
from tests.reliability.conftest import Reliability
from tests.reliability.tenants import SERVICES, Tenants, set_up


@pytest.fixture(scope="module")
async def tenants(reliability: Reliability) -> Tenants:
    return await set_up(reliability)


async def test_comment_and_keys_appear_in_no_log_metric_or_alert(
    reliability: Reliability, tenants: Tenants
) -> None:
    platform = reliability.platform
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
