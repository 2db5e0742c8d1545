"""The provisioned Grafana: data source, dashboard provider and a dashboard whose every query parses."""

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.ops.tools import GRAFANA_DIR, promtool

DASHBOARD = GRAFANA_DIR / "dashboards" / "alliance.json"
# Grafana replaces these before the query reaches Prometheus; promtool needs a real duration.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
OPERATOR_QUESTIONS = {
    "up": "Service up",
    "alliance_http_requests_total": "HTTP",
    "alliance_consumer_lag": "lag",
    "alliance_dead_letters_total": "Dead letters",
    "alliance_outbox_backlog": "Outbox",
    "alliance_alerts_sent_total": "Alerts sent",
    "alliance_alerts_failed_total": "failed",
    "alliance_alert_latency_seconds_bucket": "latency",
    "alliance_open_episodes": "episodes",
    "alliance_feedback_accepted_total": "Feedback",
    "alliance_feedback_rejected_total": "Feedback",
}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def targets() -> list[tuple[str, str]]:
    return [(panel["title"], t["expr"]) for panel in dashboard()["panels"] for t in panel["targets"]]


def as_prometheus(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def test_the_dashboard_has_an_id_a_layout_and_queries_on_the_provisioned_data_source() -> None:
    board = dashboard()
    assert board["uid"] and board["title"]
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    datasource = yaml.safe_load((GRAFANA_DIR / "provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    for panel in panels:
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == uid
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])


def test_every_operator_question_has_a_panel() -> None:
    for metric, title_word in OPERATOR_QUESTIONS.items():
        panels = [title for title, expr in targets() if re.search(rf"\b{metric}\b", expr)]
        assert panels, f"no panel queries {metric}"
        assert any(title_word.lower() in title.lower() for title in panels), (metric, panels)


def test_every_panel_query_is_valid_promql(tmp_path: Path) -> None:
    # promtool cannot check a bare expression, but it checks every expr of a rules file.
    rules = [
        {"record": f"dashboard:panel_{index}", "expr": as_prometheus(expr)}
        for index, (_, expr) in enumerate(targets())
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


def test_the_dashboard_provider_reads_the_directory_compose_mounts() -> None:
    provider = yaml.safe_load((GRAFANA_DIR / "provisioning/dashboards/alliance.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    compose = yaml.safe_load((GRAFANA_DIR.parent.parent / "docker-compose.yml").read_text())
    volumes = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{path}:ro" in volumes
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes


def test_pending_metrics_are_documented_for_the_operator() -> None:
    pending = json.loads((GRAFANA_DIR / "pending-metrics.json").read_text())["metrics"]
    guide = (GRAFANA_DIR.parent.parent / "docs" / "operations.md").read_text()
    for name, spec in pending.items():
        assert spec["labels"] and spec["service"], name
        assert not {"client_id", "therapist_id"} & set(spec["labels"]), name
        assert name in guide, f"docs/operations.md does not mention pending metric {name}"
