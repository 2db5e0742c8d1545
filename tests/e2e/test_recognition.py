"""Version 2's rupture reports end to end: the client reports tension the therapist did not see; one high
alert says so in its e-mail and webhook; the therapist's acknowledgement makes it recognised by both."""

import asyncio
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
import pytest

from tests.e2e.conftest import Platform
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
SESSION_AT = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat()
CLIENT_ONLY = "the client reported tension the therapist did not"


def report(client_id: str, therapist_id: str, respondent: str, items: dict[str, int]) -> dict[str, object]:
    return {
        "session_id": "s-1",
        "therapist_id": therapist_id,
        "client_id": client_id,
        "session_at": SESSION_AT,
        "instrument": "psq",
        "respondent": respondent,
        "items": items,
    }


async def test_a_rupture_the_client_reported_and_the_therapist_missed(
    platform: Platform, unique: str
) -> None:
    client, therapist = f"c-rep-{unique}", f"t-rep-{unique}"
    address = f"{therapist}@clinic.example"
    async with httpx.AsyncClient(headers=platform.auth, timeout=10) as http:
        routed = await http.put(
            f"{platform.url('notify')}/v1/routing/therapists/{therapist}",
            json={"email": address, "webhook_url": platform.webhook.url},
        )
        assert routed.status_code == 200, routed.text
        for respondent, items in (
            ("client", {"tension": 1, "intensity": 4, "resolution": 2}),
            ("therapist", {"tension": 0}),
        ):
            answer = await http.post(
                f"{platform.feedback_url}/v1/feedback", json=report(client, therapist, respondent, items)
            )
            assert answer.status_code == 202, answer.text

        def mails() -> list[EmailMessage]:
            return [m for m in platform.mailbox.messages if client in str(m["Subject"])]

        await eventually(
            lambda: bool(platform.webhook.calls_for(client)) and bool(mails()), what="the webhook and e-mail"
        )
        await asyncio.sleep(2.0)  # room for a second alert to show up
        calls = platform.webhook.calls_for(client)
        assert len(calls) == 1
        alert = calls[0].body
        assert alert["severity"] == "high"
        assert alert["recognised_by"] == "client"
        assert CLIENT_ONLY in alert["recognition"]
        # High on the client's report alone; the therapist's report of none may arrive after the alert, and
        # adds unrecognised_rupture without a second alert (the episode is already high).
        assert "reported_rupture" in {m["code"] for m in alert["markers"]}
        (mail,) = mails()
        text = mail.get_body(("plain",))
        assert text is not None and CLIENT_ONLY in text.get_content()

        acknowledged = await http.post(
            f"{platform.url('notify')}/v1/ruptures/{alert['rupture_id']}/acknowledge",
            json={"acknowledged_by": therapist},
        )
        assert acknowledged.status_code == 200, acknowledged.text

        async def recognised_by_both() -> bool:
            answer = await http.get(f"{platform.url('scoring')}/v1/clients/{client}/alliance")
            episode = answer.json()["open_episode"] if answer.status_code == 200 else None
            return episode is not None and (episode["rupture_id"], episode["recognised_by"]) == (
                alert["rupture_id"],
                "both",
            )

        await eventually(recognised_by_both, what="the episode recognised by both")
