import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devstack.services import SERVICES
from reliability.receiver import Mailbox, smtp_server
from tests.support.kafka import start_service_groups_at_end
from tests.support.servers import Servers, free_port, local_stack
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver


@dataclass(frozen=True)
class Platform:
    feedback_url: str
    service_urls: tuple[str, ...]
    clinic_id: str
    api_key: str
    webhook: WebhookReceiver
    groups: dict[str, str]  # service -> its consumer group
    mailbox: Mailbox
    database: str  # the MongoDB database the three services share
    kafka_bootstrap: str

    def url(self, service: str) -> str:
        return self.service_urls[[s.name for s in SERVICES].index(service)]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@pytest.fixture(scope="module")
def platform_env() -> dict[str, str]:
    """More environment for the module's services (a module overrides it: tracing on, say)."""
    return {}


@pytest.fixture(scope="module")
def platform(servers: Servers, platform_env: dict[str, str]) -> Iterator[Platform]:
    """feedback, scoring and notify as real processes (started by the project's own stack code), the demo
    clinic seeded, and notify pointed at a webhook receiver and an SMTP server in this process."""
    stack = local_stack()
    api_key, tag = f"e2e-{uuid.uuid4().hex}", uuid.uuid4().hex[:8]
    with webhook_receiver() as webhook, smtp_server(free_port()) as mailbox:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": servers.kafka_bootstrap,
            "MONGODB_URI": servers.mongodb_uri,
            "MONGODB_DATABASE": f"e2e_{tag}",
            "SCORING_GROUP_ID": f"e2e-scoring-{tag}",
            "NOTIFY_GROUP_ID": f"e2e-notify-{tag}",
            "FEEDBACK_GROUP_ID": f"e2e-feedback-{tag}",
            "NOTIFY_WEBHOOK_URL": webhook.url,
            "NOTIFY_SMTP_PORT": str(mailbox.port),
            "DEMO_API_KEY": api_key,
            **platform_env,
        }
        # Groups of this module only, starting at the present: not the alerts earlier tests left on the topics.
        asyncio.run(start_service_groups_at_end(env))
        stack.start_services(env)
        try:
            stack.run_seed(env)
            urls = tuple(f"http://127.0.0.1:{stack.service_port(service.name)}" for service in SERVICES)
            groups = {"scoring": env["SCORING_GROUP_ID"], "notify": env["NOTIFY_GROUP_ID"]}
            yield Platform(
                urls[0],
                urls,
                "demo",
                api_key,
                webhook,
                groups,
                mailbox,
                env["MONGODB_DATABASE"],
                servers.kafka_bootstrap,
            )
        finally:
            stack.stop(only=[service.name for service in SERVICES])
