"""The example producer of docs/integration.md runs, and what it publishes satisfies the contract."""

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from shared.contracts import FEEDBACK_SUBMITTED
from tests.support.kafka import records_matching
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "kafka_producer.py"


async def test_the_example_producer_publishes_a_valid_event(servers: Servers, unique: str) -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": servers.kafka_bootstrap, "CLINIC_ID": f"clinic-{unique}"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), env=env, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    event_id = output.decode().split()[1]

    records = await records_matching(
        servers.kafka_bootstrap,
        "client.events",
        lambda r: json.loads(r.value)["id"] == event_id,
        expected=1,
    )
    assert len(records) == 1
    assert records[0].key == f"clinic-{unique}:c-311".encode()
    event = FEEDBACK_SUBMITTED.decode(records[0].value)  # raises if the example broke the contract
    assert event.clinicid == f"clinic-{unique}"
