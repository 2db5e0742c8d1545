"""Two clinics for the security tests: A with real data (a client whose rupture alerted), B with keys only,
and a revoked key of A."""

import asyncio
import html
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from reliability.driver import drive
from reliability.platform import Platform
from reliability.stream import generate
from services.feedback.settings import FeedbackSettings
from shared.auth import Scope
from shared.clinic_keys import publish_key
from shared.messaging import make_broker
from tests.reliability.conftest import Reliability

SERVICES = ("feedback", "scoring", "notify")


@dataclass(frozen=True)
class Tenants:
    a: str
    b: str
    client_id: str  # A's client with an alerted rupture
    therapist_id: str
    rupture_id: str
    all_client_ids: frozenset[str]
    revoked_key: str
    comment: str  # a client comment sent in A's stream: must never show up outside the database
    note_text: str  # a note shared with that client, and the client's comment answering it: the same
    note_comment: str
    page_token: str  # the client's page link: a credential, so in no log either


async def revoke(platform: Platform, clinic: str, api_key: str) -> None:
    settings = FeedbackSettings(kafka_bootstrap_servers=platform.env["KAFKA_BOOTSTRAP_SERVERS"])
    broker = make_broker(settings, "reliability-tests")
    await broker.connect()
    try:
        await publish_key(broker, clinic, api_key, frozenset(Scope), revoked=False)
        await _known(platform, api_key, known=True)
        await publish_key(broker, clinic, api_key, frozenset(Scope), revoked=True)
        await _known(platform, api_key, known=False)
    finally:
        await broker.stop()


async def _known(platform: Platform, api_key: str, known: bool, within: float = 60.0) -> None:
    probes = [("scoring", "/v1/clinic/settings"), ("notify", "/v1/routing")]
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=10) as http:
        for service, path in probes:
            while True:
                answer = await http.get(
                    platform.url(service) + path, headers={"Authorization": f"Bearer {api_key}"}
                )
                if (answer.status_code != 401) == known:
                    break
                assert time.monotonic() < deadline, f"{service} did not see the key change"
                await asyncio.sleep(0.2)


async def set_up(reliability: Reliability) -> Tenants:
    platform = reliability.platform
    prefix = f"sec{uuid.uuid4().hex[:6]}-"
    items = generate(clinics=1, therapists=1, clients=2, sessions=4, prefix=prefix)
    a, b = items[0].clinic_id, f"{prefix}other-clinic"
    comment = f"quokka-{uuid.uuid4().hex} felt dismissed by the therapist"
    for item in items:  # one client comment, sensitive, in A's stream
        if (
            item.kind == "feedback"
            and item.body["instrument"] == "srs"
            and item.body["respondent"] == "client"
        ):
            item.body["comment"] = comment
            break
    await platform.issue_keys([a, b])
    report = await drive(
        platform.url("feedback"), {a: platform.keys[a].ingest}, items, rate=50, progress_every=0
    )
    assert not report.rejected, report.rejected
    deadline = time.monotonic() + 90
    while not (alerts := [c.body for c in reliability.webhook.snapshot() if c.body.get("clinic_id") == a]):
        assert time.monotonic() < deadline, "no alert for clinic A"
        await asyncio.sleep(0.5)
    note_text, note_comment, page_token = await share_and_answer_a_note(platform, a, alerts[0])
    revoked_key = f"rel-revoked-{uuid.uuid4().hex}"
    await revoke(platform, a, revoked_key)
    return Tenants(
        a=a,
        b=b,
        client_id=alerts[0]["client_id"],
        therapist_id=alerts[0]["therapist_id"],
        rupture_id=alerts[0]["rupture_id"],
        all_client_ids=frozenset(str(item.body["client_id"]) for item in items),
        revoked_key=revoked_key,
        comment=comment,
        note_text=note_text,
        note_comment=note_comment,
        page_token=page_token,
    )


async def share_and_answer_a_note(
    platform: Platform, clinic: str, alert: dict[str, Any]
) -> tuple[str, str, str]:
    """A note shared with the alerted client, answered "no" with a comment on the client's own page (a
    next_steps_mismatch, so scoring alerts again or adds it to the open episode); waits until scoring shows the
    answer. Returns the note's text, the comment and the page link's token."""
    text = f"wombat-{uuid.uuid4().hex} next we practise saying no at work"
    comment = f"numbat-{uuid.uuid4().hex} that is not why I came"
    note_id = f"n-{uuid.uuid4().hex[:8]}"
    note = {
        "note_id": note_id,
        "session_id": alert["session_id"],
        "therapist_id": alert["therapist_id"],
        "client_id": alert["client_id"],
        "session_at": alert["session_at"],
        "text": text,
    }
    keys = platform.keys[clinic]
    async with httpx.AsyncClient(timeout=10) as http:
        sent = await http.post(
            platform.url("feedback") + "/v1/events:batch",
            json={"events": [{"type": "note.shared", "data": note}]},
            headers={"Authorization": f"Bearer {keys.ingest}"},
        )
        assert sent.status_code == 200 and sent.json()["accepted"] == 1, sent.text
        issued = await http.post(
            platform.url("scoring") + "/v1/client-links",
            json={"client_id": alert["client_id"]},
            headers={"Authorization": f"Bearer {keys.ingest}"},
        )
        assert issued.status_code == 201, issued.text
        page_url = issued.json()["url"]
        deadline = time.monotonic() + 30
        while not (form := _answer_form(await http.get(page_url), note_id)):
            assert time.monotonic() < deadline, "the note did not reach the client's page"
            await asyncio.sleep(0.3)
        answered = await http.post(form, data={"fit": "no", "comment": comment})
        assert answered.status_code == 303, answered.text
        while True:
            answer = await http.get(
                platform.url("scoring") + f"/v1/clients/{alert['client_id']}/alliance",
                headers={"Authorization": f"Bearer {keys.read}"},
            )
            if [n for n in answer.json().get("notes", []) if n["fit"] == "no"]:
                return text, comment, page_url.rsplit("/", 1)[1]
            assert time.monotonic() < deadline + 30, "scoring did not apply the note's answer"
            await asyncio.sleep(0.3)


def _answer_form(page: httpx.Response, note_id: str) -> str | None:
    """Where the page's form for ``note_id`` posts the answer, once the page shows the note."""
    found = re.search(
        rf'id="note-{re.escape(note_id)}".*?<form method="post" action="([^"]+)"', page.text, re.S
    )
    return html.unescape(found.group(1)) if found else None
