"""The driver under load (`make reliability`): a fault-free run at 220 submissions a second for 70 s against
the single-node stack. The driver must have sustained at least 200 accepted a second for at least 60 s, and
the oracle's verdict must be exact: every acknowledged write in Kafka and applied by scoring, the read model
equal, every alert once."""

import pytest

from reliability.scenarios import SUSTAINED, run_scenario
from tests.reliability.conftest import Reliability, record

pytestmark = pytest.mark.slow


async def test_a_fault_free_run_at_200_per_second_for_a_minute_loses_and_doubles_nothing(
    reliability: Reliability,
) -> None:
    result = await run_scenario(SUSTAINED, reliability.platform, reliability.webhook, reliability.mailbox)
    record(result)

    assert result.passed, result.problems()
    assert result.acknowledged == result.events_in == result.accounted >= 12_000
    assert result.lost == result.duplicated == result.rejected == 0
    assert result.sending_seconds >= 60, result.problems()
    assert result.achieved_rate >= 200, result.problems()
    assert result.alerts_expected > 0
