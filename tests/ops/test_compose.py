"""docker-compose.yml and the services' Dockerfiles, checked without a Docker engine.

The Compose Specification schema in compose_spec.json is vendored (see COMPOSE_SPEC_SOURCE.md): it is never
fetched at test time.
"""

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from devstack.mongo import TRANSACTION_LIFETIME_SECONDS
from services.feedback.settings import FeedbackSettings
from services.notify.settings import NotifySettings
from services.scoring.settings import ScoringSettings
from shared.topics import ALL_TOPICS
from tests.ops.tools import PROMETHEUS_DIR, REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
SCHEMA = Path(__file__).with_name("compose_spec.json")
# Each application container and the settings class it reads; the seed runs the feedback image's CLI.
SETTINGS: dict[str, type[BaseSettings]] = {
    "feedback": FeedbackSettings,
    "scoring": ScoringSettings,
    "scoring-2": ScoringSettings,
    "notify": NotifySettings,
    "seed-demo-clinic": FeedbackSettings,
}
PORT_FIELD = "port"
HTTP_SERVICES = ("feedback", "scoring", "notify")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def env_names(settings: type[BaseSettings]) -> set[str]:
    """The environment variables a pydantic-settings class reads (aliases, else the field name)."""
    names: set[str] = set()
    prefix = str(settings.model_config.get("env_prefix") or "")
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def port_env(settings: type[BaseSettings]) -> str:
    alias = settings.model_fields[PORT_FIELD].validation_alias
    assert isinstance(alias, AliasChoices)
    return str(alias.choices[0])


def default_port(settings: type[BaseSettings]) -> int:
    return int(settings.model_fields[PORT_FIELD].default)


def dockerfile(service: str) -> str:
    return (REPO_ROOT / "services" / service / "Dockerfile").read_text()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    )
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in joined.splitlines()
        if line.strip()
    ]


# ---- the file as a whole ------------------------------------------------------------------------------


def test_the_file_validates_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert not errors, errors


def test_the_schema_would_reject_a_broken_file() -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = compose()
    broken["services"]["feedback"]["depends_on"] = {"kafka": {"condition": "whenever"}}
    broken["services"]["notify"]["restart_policy"] = "sometimes"
    assert len(list(jsonschema.Draft201909Validator(schema).iter_errors(broken))) >= 2


def test_every_image_is_pinned_by_tag() -> None:
    for name, service in services().items():
        image = service.get("image")
        assert image, f"{name} names no image"
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest" and "/" not in tag, f"{name}: {image}"
    for name in HTTP_SERVICES:
        for kind, argument in instructions(dockerfile(name)):
            if kind == "FROM":
                assert argument.split()[0] == "python:3.11-slim", argument


def test_the_deployment_has_every_part_the_issue_asks_for() -> None:
    found = services()
    assert found["kafka"]["image"] == "apache/kafka:4.1.1"
    assert found["mongo"]["image"] == "mongo:6.0.5"
    mongod = found["mongo"]["command"]
    assert mongod[:4] == ["mongod", "--replSet", "rs0", "--bind_ip_all"]
    # The same transaction lifetime as devstack's mongod: a killed replica's transaction never blocks long.
    assert f"transactionLifetimeLimitSeconds={TRANSACTION_LIFETIME_SECONDS}" in mongod
    assert "rs.initiate" in " ".join(found["mongo-init"]["command"])
    assert found["seed-demo-clinic"]["command"] == ["alliance", "ensure-demo-clinic"]
    assert found["mailpit"]["image"].startswith("axllent/mailpit:")
    assert found["prometheus"]["image"].startswith("prom/prometheus:")
    assert found["grafana"]["image"].startswith("grafana/grafana:")
    # Scaling: the second scoring replica runs the same image in the same consumer group.
    assert found["scoring-2"]["image"] == found["scoring"]["image"]
    assert (
        found["scoring-2"]["environment"]["SCORING_GROUP_ID"]
        == found["scoring"]["environment"]["SCORING_GROUP_ID"]
    )


# ---- settings, ports and health -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_environment_variable_is_read_by_the_services_settings(name: str) -> None:
    environment = services()[name]["environment"]
    assert isinstance(environment, dict), f"{name}: use the mapping form"
    unknown = set(environment) - env_names(SETTINGS[name])
    assert not unknown, f"{name} sets variables its settings class never reads: {sorted(unknown)}"
    assert environment["HTTP_HOST"] == "0.0.0.0", "inside a container the port must bind every interface"


def test_the_services_reach_kafka_and_mongodb_where_compose_puts_them() -> None:
    found = services()
    advertised = found["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    for name in SETTINGS:
        environment = found[name]["environment"]
        assert f"//{environment['KAFKA_BOOTSTRAP_SERVERS']}" in advertised, name
        assert environment["MONGODB_URI"] == "mongodb://mongo:27017/?replicaSet=rs0", name


@pytest.mark.parametrize("name", HTTP_SERVICES)
def test_ports_and_healthchecks_agree_with_the_settings_defaults(name: str) -> None:
    settings = SETTINGS[name]
    port, variable = default_port(settings), port_env(settings)
    service = services()[name]
    assert service["environment"][variable] == str(port)
    assert f"{port}:{port}" in service["ports"]
    parts = instructions(dockerfile(name))
    env = " ".join(argument for kind, argument in parts if kind == "ENV")
    assert f"{variable}={port}" in env
    assert ("EXPOSE", str(port)) in parts
    healthchecks = [argument for kind, argument in parts if kind == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/healthz" in healthchecks[0] and variable in healthchecks[0]
    assert "CMD" in healthchecks[0]


@pytest.mark.parametrize("name", HTTP_SERVICES)
def test_each_dockerfile_is_multi_stage_non_root_and_copies_only_what_exists(name: str) -> None:
    parts = instructions(dockerfile(name))
    assert sum(kind == "FROM" for kind, _ in parts) >= 2, "multi-stage"
    users = [argument for kind, argument in parts if kind == "USER"]
    assert users and users[-1] not in {"root", "0"}, "the service must not run as root"
    assert parts[-1] == ("CMD", f'["python", "-m", "services.{name}"]')
    copies = [argument.split() for kind, argument in parts if kind == "COPY"]
    assert copies
    for words in copies:
        if any(word.startswith("--from") for word in words):
            continue
        for source in words[:-1]:
            assert (REPO_ROOT / source).exists(), f"{name}: COPY source {source} does not exist"
    copied = {words[0].rstrip("/") for words in copies if not words[0].startswith("--")}
    assert copied <= {"pyproject.toml", "shared", "services/__init__.py", f"services/{name}"}, copied
    ignore = (REPO_ROOT / "services" / name / "Dockerfile.dockerignore").read_text()
    assert "!shared/**" in ignore and ignore.lstrip().splitlines()[1] == "**"


def test_the_seed_runs_the_cli_that_the_feedback_image_installs() -> None:
    assert "/opt/venv/bin/alliance" in dockerfile("feedback")
    assert services()["seed-demo-clinic"]["image"] == services()["feedback"]["image"]


# ---- start-up order -----------------------------------------------------------------------------------


def has_healthcheck(service: dict[str, Any]) -> bool:
    """A healthcheck in compose, or a HEALTHCHECK in the Dockerfile the service is built from."""
    dockerfile_path = service.get("build", {}).get("dockerfile")
    built_with_one = bool(dockerfile_path) and "HEALTHCHECK" in (REPO_ROOT / dockerfile_path).read_text()
    return "healthcheck" in service or built_with_one


def test_depends_on_conditions_make_sense() -> None:
    found = services()
    one_shots = {name for name, service in found.items() if service.get("restart") == "no"}
    assert one_shots == {"kafka-topics", "mongo-init", "seed-demo-clinic"}
    for name, service in found.items():
        for target, spec in service.get("depends_on", {}).items():
            assert target in found, f"{name} depends on unknown {target}"
            condition = spec["condition"]
            if target in one_shots:
                assert condition == "service_completed_successfully", (name, target)
            elif condition == "service_healthy":
                assert has_healthcheck(found[target]), f"{name} waits for {target}'s health"
            else:
                assert condition == "service_started", (name, target)
    for name in SETTINGS:
        if name != "seed-demo-clinic":
            assert {"kafka-topics", "mongo-init"} <= set(found[name]["depends_on"]), name
    assert found["seed-demo-clinic"]["depends_on"]["feedback"]["condition"] == "service_healthy"

    # No cycles: every service can be ordered after what it depends on.
    ordered: list[str] = []
    remaining = dict(found)
    while remaining:
        ready = [n for n, s in remaining.items() if set(s.get("depends_on", {})) <= set(ordered)]
        assert ready, f"depends_on cycle among {sorted(remaining)}"
        ordered += ready
        for n in ready:
            del remaining[n]


# ---- agreement with the rest of the repository --------------------------------------------------------


def test_the_topic_list_is_the_one_in_shared_topics() -> None:
    specs = services()["kafka-topics"]["environment"]["TOPICS"].split()
    declared = {
        name: (int(partitions), policy) for name, partitions, policy in (spec.split(":") for spec in specs)
    }
    expected = {
        topic.name: (topic.partitions, "compact" if topic.compacted else "delete") for topic in ALL_TOPICS
    }
    assert declared == expected


def test_prometheus_scrapes_every_http_container_on_its_port() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for s in job["static_configs"] for t in s["targets"]}
    for name, settings in SETTINGS.items():
        if name != "seed-demo-clinic":
            assert f"{name}:{default_port(settings)}" in targets, name
    mounts = services()["prometheus"]["volumes"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in mounts
    assert "--config.file=/etc/prometheus/prometheus.yml" in services()["prometheus"]["command"]
