"""The platform the reliability tests run against: the three services as real processes (devstack), their own
database and consumer groups, a signed-webhook receiver and an SMTP server; and the scorecard they print."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from reliability.platform import Platform
from reliability.receiver import Mailbox, SignedWebhookReceiver
from reliability.scenarios import running_platform
from reliability.scorecard import ScenarioResult, table
from tests.support.servers import Servers, fresh_local_stack, local_stack

SCORECARD: list[ScenarioResult] = []


@dataclass(frozen=True)
class Reliability:
    platform: Platform
    webhook: SignedWebhookReceiver
    mailbox: Mailbox
    servers: Servers

    @property
    def extra_port(self) -> int:
        """For a second scoring replica: apart from the stack's own ports."""
        return self.platform.stack.service_port("scoring") + 100


@pytest.fixture(scope="session")
async def reliability(servers: Servers) -> AsyncIterator[Reliability]:
    stack = local_stack()
    smtp_port = stack.service_port("scoring") + 123
    async with running_platform(stack, smtp_port, servers.kafka_bootstrap, servers.mongodb_uri) as (
        platform,
        webhook,
        mailbox,
    ):
        yield Reliability(platform, webhook, mailbox, servers)


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[Reliability]:
    """The platform on a cluster of its own: three Kafka nodes, a three-member replica set, and two replicas
    each of scoring and notify (an upgrade restarts them one at a time, so production runs two). It lives for
    one test module: kept for the session, its eleven idle processes (about a quarter of a core at rest) took
    their share of two cores from every single-node scenario after it."""
    with fresh_local_stack(nodes=3) as stack:
        smtp_port = stack.service_port("scoring") + 123
        async with running_platform(stack, smtp_port) as (platform, webhook, mailbox):
            for offset, name in enumerate(("scoring-2", "notify-2"), start=200):
                await asyncio.to_thread(platform.start_replica, name, stack.service_port("scoring") + offset)
            servers = Servers(stack.kafka_bootstrap, stack.mongodb_uri, "local cluster")
            yield Reliability(platform, webhook, mailbox, servers)


def record(result: ScenarioResult) -> None:
    SCORECARD.append(result)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SCORECARD:
        terminalreporter.section("reliability scorecard")
        terminalreporter.write_line(table(SCORECARD))
        for result in SCORECARD:  # what each fault did, and the driver's figures
            terminalreporter.write_line(f"{result.scenario}: {'; '.join(result.notes)}")
