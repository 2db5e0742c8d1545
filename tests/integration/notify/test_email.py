"""E-mail alerts over a real SMTP server (aiosmtpd on loopback), including an outage of the server."""

import asyncio
from email.message import EmailMessage
from html.parser import HTMLParser

import pytest

from shared.auth import Scope
from tests.integration.notify.conftest import Mailbox, Notify, Publisher, rupture, view_link_in
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


async def route_to_email(notify: Notify, address: str) -> None:
    routing = {"therapists": [{"therapist_id": "t-1", "email": address}]}
    async with notify.running() as http:
        assert (
            await http.put("/v1/routing", json=routing, headers=notify.key(Scope.ADMIN))
        ).status_code == 200


async def test_an_alert_e_mail_has_a_plain_text_and_an_html_body_a_clinician_can_act_on(
    notify: Notify, publish: Publisher, smtp: Mailbox, unique: str
) -> None:
    client_id, address = f"c-{unique}", f"t1-{unique}@clinic.example"
    await route_to_email(notify, address)
    async with notify.running():
        await publish.rupture(notify.clinic_id, rupture(client_id))
        await eventually(lambda: len(smtp.to(address)) >= 1)
        await asyncio.sleep(0.5)

    [message] = smtp.to(address)
    text, html = parts(message)
    print(
        f"\n--- Subject: {message['Subject']}\n--- text:\n{text}\n--- HTML, visible text:\n{visible_text(html)}"
    )
    assert message["Subject"] == f"[Alliance] Medium rupture suspected: client {client_id}"
    assert message["Message-ID"].endswith("@alliance.notify>")
    for body in (text, visible_text(html)):
        assert "SRS total 31, below the clinic's cutoff of 36; 6 points under this client's usual 37" in body
        assert "Attend to the bond" in body
    [view_url] = [word for word in text.split() if word.startswith("https://dashboard.example/views/links/")]
    assert view_link_in(view_url, notify).subject == client_id
    assert "http://notify/v1/acknowledgements/" in html


async def test_an_smtp_outage_ends_with_every_alert_delivered_once(
    notify: Notify, publish: Publisher, smtp: Mailbox, unique: str
) -> None:
    address = f"t1-{unique}@clinic.example"
    clients = [f"c-{i}-{unique}" for i in range(3)]
    await route_to_email(notify, address)
    smtp.stop()
    async with notify.running():
        for client_id in clients:
            await publish.rupture(notify.clinic_id, rupture(client_id))

        async def all_attempted_while_down() -> bool:
            pending = await notify.deliveries(status="pending", attempts={"$gte": 2})
            return len(pending) == 3

        await eventually(all_attempted_while_down)
        assert smtp.messages == []
        smtp.start()
        await eventually(lambda: len(smtp.to(address)) >= 3)
        await asyncio.sleep(1.5)  # room for a duplicate

    subjects = sorted(str(m["Subject"]) for m in smtp.to(address))
    assert subjects == sorted(f"[Alliance] Medium rupture suspected: client {c}" for c in clients)
    assert len({m["Message-ID"] for m in smtp.messages}) == 3
    assert {d["status"] for d in await notify.deliveries()} == {"sent"}
