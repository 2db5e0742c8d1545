"""Every fault scenario of reliability/scenarios.py (`make reliability`): each must end with zero lost, zero
duplicated, nothing extra, the read model equal to the oracle's and every expected alert delivered once."""

import pytest

from reliability.scenarios import catalogue, run_scenario
from tests.reliability.conftest import Reliability, record

pytestmark = pytest.mark.slow
NAMES = [scenario.name for scenario in catalogue(0)]


@pytest.mark.parametrize("name", NAMES)
async def test_scenario(name: str, reliability: Reliability) -> None:
    scenario = next(s for s in catalogue(reliability.extra_port) if s.name == name)
    if name in ("kafka restart", "mongod restart"):
        # Stopping the broker or mongod needs servers this suite started itself.
        assert reliability.servers.origin == "local processes", "run against the suite's own local stack"
    result = await run_scenario(scenario, reliability.platform, reliability.webhook, reliability.mailbox)
    record(result)

    assert result.passed, result.problems()
    assert result.events_in > 400
    assert result.alerts_expected > 0
    if scenario.fault is not None:
        assert result.recovery_seconds is not None, result.problems()
