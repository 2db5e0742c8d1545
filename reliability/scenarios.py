"""The fault scenarios: what breaks, when, and for how long. Each ends with the oracle's verdict.

Every scenario runs against the three services as real processes while the driver sends a stream of its own
clinics (a prefix per scenario, so all of them share the topics and the database without meeting).
"""

import asyncio
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from devstack.stack import Stack
from reliability.platform import (
    WEBHOOK_SECRET,
    Platform,
    platform_env,
    restart_infra,
)
from reliability.receiver import Mailbox, SignedWebhookReceiver, signed_webhook_receiver, smtp_server
from reliability.run import Run
from reliability.scorecard import ScenarioResult
from reliability.stream import StreamItem, clinics_for, generate
from tests.support.kafka import start_service_groups_at_end

Fault = Callable[[Run], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    fault: Fault | None
    clinics: int = 3
    therapists: int = 2
    clients: int = 3
    sessions: int = 8
    rate: float = 25.0
    # Given, the stream is as long as ``rate`` needs for that many seconds: ``clinics`` grows to fit.
    seconds: float | None = None
    email_clinic: bool = False  # route the first clinic's alerts by e-mail (to the test SMTP server)
    # Every clinic but the first sends through the batch endpoint, as a system syncing its records does; the
    # first sends each item on its own, as a survey tool does (reliability/driver.py).
    batched: bool = False

    def stream(self, prefix: str) -> list[StreamItem]:
        clinics = self.clinics
        if self.seconds is not None:
            items = math.ceil(self.rate * self.seconds)
            clinics = clinics_for(items, self.therapists, self.clients, self.sessions)
        return generate(
            clinics=clinics,
            therapists=self.therapists,
            clients=self.clients,
            sessions=self.sessions,
            prefix=prefix,
        )


# ---- faults -------------------------------------------------------------------------------------------


def kill_repeatedly(service: str, at: tuple[float, ...] = (0.2, 0.45, 0.7), down: float = 1.0) -> Fault:
    async def fault(run: Run) -> None:
        for fraction in at:
            await run.at(fraction)
            await run.blocking(run.platform.kill, service)
            await asyncio.sleep(down)
            await run.blocking(run.platform.restart, service)
            run.fault_ended()

    return fault


def infra_outage(process: str, at: float = 0.35, down: float = 8.0) -> Fault:
    """Stop the Kafka broker or mongod (SIGTERM, as an operator or an orchestrator would), then start it."""

    async def fault(run: Run) -> None:
        await run.at(at)
        stack = run.platform.stack
        await run.blocking(stack.stop, [process])
        await asyncio.sleep(down)
        await run.blocking(restart_infra, stack, process)
        run.fault_ended()

    return fault


def webhook_outage(mode: str, at: float = 0.2, until: float = 0.6) -> Fault:
    async def fault(run: Run) -> None:
        await run.at(at)
        run.webhook.outage("closed" if mode == "closed" else "503")
        await run.at(until)
        await asyncio.sleep(5.0)  # at least a few delivery attempts fail
        run.webhook.recover()
        run.fault_ended()

    return fault


async def smtp_outage(run: Run) -> None:
    assert run.mailbox is not None
    await run.at(0.2)
    run.mailbox.down = True
    await run.at(0.6)
    await asyncio.sleep(5.0)
    run.mailbox.down = False
    run.fault_ended()


def replica_killed(port: int) -> Fault:
    """A second scoring process joins the consumer group; mid-stream one of the two is killed for good."""

    async def fault(run: Run) -> None:
        await run.blocking(run.platform.start_extra, "scoring-2", port)
        await run.at(0.5)
        await run.blocking(run.platform.kill, "scoring-2")
        run.fault_ended()

    return fault


# ---- the catalogue ------------------------------------------------------------------------------------


def catalogue(extra_port: int) -> list[Scenario]:
    return [
        Scenario("baseline", "no fault: the reference run", None),
        Scenario(
            "kill scoring x3", "SIGKILL scoring at 20/45/70 % of the stream", kill_repeatedly("scoring")
        ),
        Scenario("kill notify x3", "SIGKILL notify at 20/45/70 %", kill_repeatedly("notify")),
        Scenario("kill feedback x3", "SIGKILL feedback at 20/45/70 %", kill_repeatedly("feedback")),
        Scenario("kafka restart", "broker stopped for 8 s at 35 %", infra_outage("kafka")),
        Scenario("mongod restart", "mongod stopped for 8 s at 35 %", infra_outage("mongod")),
        Scenario("webhook 503", "receiver answers 503 from 20 % to 60 %", webhook_outage("503")),
        Scenario("webhook closed", "receiver's port closed from 20 % to 60 %", webhook_outage("closed")),
        Scenario("smtp down", "SMTP answers 451 from 20 % to 60 %", smtp_outage, email_clinic=True),
        Scenario(
            "scoring replica killed",
            "two scoring replicas; one SIGKILLed at 50 %",
            replica_killed(extra_port),
        ),
    ]


FAST = Scenario(
    "kill scoring x2 (fast)",
    "SIGKILL scoring at 30 % and 65 % of a small stream",
    kill_repeatedly("scoring", at=(0.3, 0.65), down=0.5),
    clinics=2,
    therapists=2,
    clients=2,
    sessions=6,
    rate=30.0,
)

# No fault, under load: 220 submissions a second for 70 s, from 15 clinics of 32 clients (about 15 600 items).
SUSTAINED = Scenario(
    "sustained 220/s",
    "no fault: the reference run at 220 submissions a second for 70 s",
    None,
    therapists=4,
    clients=8,
    rate=220.0,
    seconds=70.0,
)


async def route_by_email(platform: Platform, clinic: str, therapists: list[str]) -> str:
    address = f"therapists@{clinic}.example"
    headers = {"Authorization": f"Bearer {platform.keys[clinic].admin}"}
    async with httpx.AsyncClient(base_url=platform.url("notify"), timeout=10) as http:
        for therapist in therapists:
            answer = await http.put(
                f"/v1/routing/therapists/{therapist}", json={"email": address}, headers=headers
            )
            answer.raise_for_status()
    return address


async def run_scenario(
    scenario: Scenario,
    platform: Platform,
    webhook: SignedWebhookReceiver,
    mailbox: Mailbox | None = None,
) -> ScenarioResult:
    prefix = f"r{uuid.uuid4().hex[:6]}-"
    items = scenario.stream(prefix)
    clinics = sorted({item.clinic_id for item in items})
    await platform.issue_keys(clinics)
    run = Run(scenario.name, platform, items, prefix, webhook)
    if scenario.email_clinic:
        assert mailbox is not None, "an e-mail scenario needs the SMTP server"
        mailbox.messages.clear()
        therapists = sorted({str(i.body["therapist_id"]) for i in items if i.clinic_id == clinics[0]})
        run.mailbox = mailbox
        run.email_addresses = {clinics[0]: await route_by_email(platform, clinics[0], therapists)}
    try:
        batching = clinics[1:] if scenario.batched else []
        return await run.execute(scenario.fault, scenario.rate, batched=batching)
    finally:
        platform.stop_extras()
        webhook.recover()
        if mailbox is not None:
            mailbox.down = False


@asynccontextmanager
async def running_platform(
    stack: Stack, smtp_port: int, kafka_bootstrap: str | None = None, mongodb_uri: str | None = None
) -> AsyncIterator[tuple[Platform, SignedWebhookReceiver, Mailbox]]:
    """The three services of ``stack`` as processes of this run (own database and consumer groups), the
    signed webhook receiver they alert, and the SMTP server."""
    with signed_webhook_receiver(WEBHOOK_SECRET) as webhook, smtp_server(smtp_port) as mailbox:
        tag = uuid.uuid4().hex[:8]
        env = platform_env(stack, webhook.url, tag, smtp_port, kafka_bootstrap, mongodb_uri)
        await start_service_groups_at_end(env)
        platform = Platform(stack, env)
        await asyncio.to_thread(platform.start)
        try:
            yield platform, webhook, mailbox
        finally:
            await asyncio.to_thread(platform.stop)
