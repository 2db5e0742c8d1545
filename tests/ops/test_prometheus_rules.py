"""The Prometheus configuration and alert rules in deploy/prometheus/, checked by Prometheus' own promtool."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.tools import PROMETHEUS_DIR, promtool

REQUIRED_ALERTS = {
    "AllianceServiceDown",
    "AllianceConsumerLagGrowing",
    "AllianceDeadLettersAppearing",
    "AllianceAlertDeliveryFailing",
    "AllianceEndToEndLatencyHigh",
    "AllianceOutboxBacklogStuck",
}


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.cluster.yml"])
def test_the_scrape_config_is_valid_and_loads_the_rules(config: str) -> None:
    result = promtool("check", "config", PROMETHEUS_DIR / config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout + result.stderr


def test_the_scrape_config_names_every_service_by_its_compose_name_and_port() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: [t for static in job["static_configs"] for t in static["targets"]]
        for job in config["scrape_configs"]
    }
    assert targets["feedback"] == ["feedback:8001"]
    assert targets["scoring"] == ["scoring:8002", "scoring-2:8002"]
    assert targets["notify"] == ["notify:8003"]


def test_the_alert_rules_are_valid() -> None:
    result = promtool("check", "rules", PROMETHEUS_DIR / "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_question_an_operator_asks_has_a_rule_that_says_what_it_means_and_what_to_do() -> None:
    found = {rule["alert"]: rule for rule in rules()}
    assert set(found) >= REQUIRED_ALERTS
    for name, rule in found.items():
        annotations = rule.get("annotations", {})
        assert annotations.get("summary"), f"{name} has no summary"
        assert len(annotations.get("description", "")) > 80, f"{name} does not say what to do"
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}


def test_the_rules_behave_as_their_unit_tests_expect(tmp_path: Path) -> None:
    result = promtool("test", "rules", "alerts_test.yml", cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    tested = {
        case["alertname"]
        for test in yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    }
    assert len(tested) >= 2


def test_promtool_would_catch_a_broken_rule(tmp_path: Path) -> None:
    # The checks above only mean something if promtool rejects bad PromQL.
    broken = tmp_path / "broken.yml"
    broken.write_text(
        yaml.safe_dump({"groups": [{"name": "x", "rules": [{"alert": "X", "expr": "sum by (le (up"}]}]})
    )
    assert promtool("check", "rules", broken).returncode != 0
