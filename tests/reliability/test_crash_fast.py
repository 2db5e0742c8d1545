"""The fast crash scenario (part of `make test`): scoring SIGKILLed twice mid-stream, restarted, and the
oracle's verdict: every accepted event once in Kafka and applied, the read model equal, every alert once."""

from reliability.scenarios import FAST, run_scenario
from tests.reliability.conftest import Reliability, record


async def test_scoring_killed_twice_mid_stream_loses_and_doubles_nothing(reliability: Reliability) -> None:
    result = await run_scenario(FAST, reliability.platform, reliability.webhook, reliability.mailbox)
    record(result)

    assert result.passed, result.problems()
    assert result.events_in > 150 and result.accounted == result.events_in
    assert result.alerts_expected > 0 and result.alerts_delivered == result.alerts_expected
    assert reliability.platform.restarts >= 2
    assert result.recovery_seconds is not None
