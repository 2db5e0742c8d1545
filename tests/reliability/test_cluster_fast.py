"""The fast cluster check (part of `make test`): on three Kafka nodes and a three-member replica set, the broker
that leads most of ``client.events`` is SIGKILLed under 220 events a second and started again 20 s later. The
oracle's verdict must be exact, as in every scenario of `make reliability`."""

from reliability.cluster_scenarios import LEADER_KILLED
from reliability.scenarios import run_scenario
from tests.reliability.conftest import Reliability, record


async def test_the_leading_broker_killed_under_load_loses_and_doubles_nothing(cluster: Reliability) -> None:
    result = await run_scenario(LEADER_KILLED, cluster.platform, cluster.webhook, cluster.mailbox)
    record(result)

    assert result.passed, result.problems()
    assert result.acknowledged == result.events_in == result.accounted >= 12_000
    assert result.sending_seconds >= 60 and result.achieved_rate >= 200, result.problems()
    assert result.alerts_expected > 0
    assert result.recovery_seconds is not None, result.problems()
