"""The scoring metrics count what a committed transaction announced, by clinic and severity."""

from prometheus_client import REGISTRY

from services.scoring import metrics
from services.scoring.domain import ClientHistory, assess_client
from services.scoring.translate import outbound

from .builders import CLIENT, CLINIC, srs


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_opened_and_repaired_episode_counts_once_each() -> None:
    assessment = assess_client(
        ClientHistory.of(CLINIC, CLIENT, [srs(1, "38"), srs(2, "38"), srs(3, "29"), srs(4, "37.5")])
    )
    staged = [outbound(event, assessment) for event in assessment.timeline.events]
    opened = sample("alliance_ruptures_opened_total", clinic=CLINIC, severity="high")
    repaired = sample("alliance_ruptures_resolved_total", clinic=CLINIC, how="repaired")
    acknowledged = sample("alliance_ruptures_acknowledged_total", clinic=CLINIC)

    metrics.count_committed(staged, [CLINIC])

    assert sample("alliance_ruptures_opened_total", clinic=CLINIC, severity="high") == opened + 1
    assert sample("alliance_ruptures_resolved_total", clinic=CLINIC, how="repaired") == repaired + 1
    assert sample("alliance_ruptures_acknowledged_total", clinic=CLINIC) == acknowledged + 1
