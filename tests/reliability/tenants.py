"""Two clinics for the security tests: A with real data (a client whose rupture alerted), B with keys only,
and a revoked key of A."""

import asyncio
import time
import uuid
from dataclasses import dataclass

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
    )
