"""Every cluster fault scenario of reliability/cluster_scenarios.py (`make reliability`), on the cluster fixture:
each must end with zero lost, zero duplicated, nothing extra, the read model equal to the oracle's and every
expected alert delivered once."""

import pytest

from reliability.cluster_scenarios import catalogue
from reliability.scenarios import run_scenario
from tests.reliability.conftest import Reliability, record

pytestmark = pytest.mark.slow
# The leader kill runs in `make test` (test_cluster_fast.py); `make reliability` runs it there too.
NAMES = [scenario.name for scenario in catalogue() if scenario.name != "broker leader killed"]


@pytest.mark.parametrize("name", NAMES)
async def test_cluster_scenario(name: str, cluster: Reliability) -> None:
    scenario = next(s for s in catalogue() if s.name == name)
    result = await run_scenario(scenario, cluster.platform, cluster.webhook, cluster.mailbox)
    record(result)

    assert result.passed, result.problems()
    assert result.alerts_expected > 0
    assert result.sending_seconds >= 60 and result.rate_while_available >= 200, result.problems()
    if scenario.fault is not None:
        assert result.recovery_seconds is not None, result.problems()
    if name == "two brokers down":
        assert result.refused_while_unavailable > 0, result.problems()
