"""The compose files and the services' Dockerfile, checked without a Docker engine.

docker-compose.yml runs one Kafka node and one mongod; docker-compose.cluster.yml runs three of each, as
production does. Every check of a compose file runs on both, against what each promises (``Deployment``).
The Compose Specification schema in compose_spec.json is vendored (see COMPOSE_SPEC_SOURCE.md): it is never
fetched at test time.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from devstack.kafka import FAILOVER
from devstack.mongo import FAILOVER as MONGO_FAILOVER
from devstack.mongo import TRANSACTION_LIFETIME_SECONDS
from services.feedback.settings import FeedbackSettings
from services.notify.settings import NotifySettings
from services.scoring.settings import ScoringSettings
from services.scoring.web.settings import WebSettings
from shared.client_links import ClientPageSettings
from shared.topics import ALL_TOPICS
from tests.ops.tools import PROMETHEUS_DIR, REPO_ROOT

SCHEMA = Path(__file__).with_name("compose_spec.json")
DOCKERFILE = REPO_ROOT / "Dockerfile"
# The settings class of each service, by the SERVICE build argument its image is built with.
SETTINGS: dict[str, type[BaseSettings]] = {
    "feedback": FeedbackSettings,
    "scoring": ScoringSettings,
    "notify": NotifySettings,
}
# Settings a service reads beside its own class: the client pages' (shared by all three), the views'.
ALSO_READ: dict[str, tuple[type[BaseSettings], ...]] = {
    "feedback": (ClientPageSettings,),
    "scoring": (WebSettings, ClientPageSettings),
    "notify": (ClientPageSettings,),
}
PORT_FIELD = "port"
KAFKA_IMAGE = "apache/kafka:4.1.1"
MONGO_IMAGE = "mongo:6.0.5"
ONE_SHOTS = {"kafka-topics", "mongo-init", "seed-demo-clinic"}
MONITORING = ("mailpit", "prometheus", "grafana")


@dataclass(frozen=True)
class Deployment:
    """A compose file and what it promises."""

    file: str
    nodes: int  # Kafka nodes, and mongods in the replica set
    replication_factor: int  # of every topic, Kafka's internal ones included
    min_insync_replicas: int
    replicas: dict[str, int]  # containers per SERVICE
    # Every consumer replica names itself in INSTANCE_ID. docker-compose.yml leaves it unset, so that `--scale`
    # stays safe (docs/operations.md, "Scale").
    static_members: bool
    prometheus_config: str  # in deploy/prometheus/: its scrape targets are this file's containers


SINGLE = Deployment(
    "docker-compose.yml", 1, 1, 1, {"feedback": 1, "scoring": 2, "notify": 1}, False, "prometheus.yml"
)
CLUSTER = Deployment(
    "docker-compose.cluster.yml",
    3,
    3,
    2,
    {"feedback": 1, "scoring": 2, "notify": 2},
    True,
    "prometheus.cluster.yml",
)
each_deployment = pytest.mark.parametrize(
    "deployment", [pytest.param(d, id=d.file) for d in (SINGLE, CLUSTER)]
)


def compose(deployment: Deployment) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO_ROOT / deployment.file).read_text())
    return loaded


def services(deployment: Deployment) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose(deployment)["services"]
    return found


def built(found: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Each container built from the Dockerfile, and the service (SERVICE argument) it runs."""
    return {name: s["build"]["args"]["SERVICE"] for name, s in found.items() if "build" in s}


def consumers(found: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The long-running containers of each service (the seed is a one-shot of the feedback image)."""
    return {name: service for name, service in built(found).items() if name not in ONE_SHOTS}


def kafka_nodes(found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in found.items() if "KAFKA_PROCESS_ROLES" in s.get("environment", {})}


def mongods(found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in found.items() if s.get("command", [""])[0] == "mongod"}


def advertised(node: dict[str, Any]) -> dict[str, str]:
    """A Kafka node's advertised listeners: name -> host:port."""
    items = node["environment"]["KAFKA_ADVERTISED_LISTENERS"].split(",")
    return dict(item.split("://") for item in items)


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


def field_env(settings: type[BaseSettings], field: str) -> str:
    """The environment variable a field of a settings class is read from."""
    alias = settings.model_fields[field].validation_alias
    assert isinstance(alias, AliasChoices)
    return str(alias.choices[0])


def port_env(settings: type[BaseSettings]) -> str:
    return field_env(settings, PORT_FIELD)


def default_port(settings: type[BaseSettings]) -> int:
    return int(settings.model_fields[PORT_FIELD].default)


# ---- the Dockerfile, read as stages -------------------------------------------------------------------


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


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    parts: list[tuple[str, str]]


def stages() -> list[Stage]:
    found: list[Stage] = []
    for kind, argument in instructions(DOCKERFILE.read_text()):
        if kind == "FROM":
            words = argument.split()
            named = len(words) == 3 and words[1].upper() == "AS"
            found.append(Stage(words[0], words[2] if named else None, []))
        elif found:
            found[-1].parts.append((kind, argument))
    return found


def image_of(service: str) -> list[tuple[str, str]]:
    """The instructions that make the image of ``--build-arg SERVICE=service``: the last stage and the stages
    it is built on, in build order, with ${SERVICE} filled in."""
    named = {stage.name: stage for stage in stages() if stage.name}
    chain = [stages()[-1]]
    while (base := chain[-1].base.replace("${SERVICE}", service)) in named:
        chain.append(named[base])
    return [
        (kind, argument.replace("${SERVICE}", service))
        for stage in reversed(chain)
        for kind, argument in stage.parts
    ]


def healthchecked(service: dict[str, Any]) -> bool:
    """A healthcheck in compose, or a HEALTHCHECK in the Dockerfile the service is built from."""
    if "healthcheck" in service:
        return True
    build: dict[str, Any] = service.get("build", {})
    return bool(build) and "HEALTHCHECK" in (REPO_ROOT / build["context"] / build["dockerfile"]).read_text()


# ---- each file as a whole -----------------------------------------------------------------------------


@each_deployment
def test_the_file_validates_against_the_compose_specification(deployment: Deployment) -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(compose(deployment))]
    assert not errors, errors


@each_deployment
def test_the_schema_would_reject_a_broken_file(deployment: Deployment) -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = compose(deployment)
    broken["services"]["feedback"]["depends_on"] = {"kafka-topics": {"condition": "whenever"}}
    broken["services"]["notify"]["restart_policy"] = "sometimes"
    assert len(list(jsonschema.Draft201909Validator(schema).iter_errors(broken))) >= 2


@each_deployment
def test_every_image_is_pinned_by_tag(deployment: Deployment) -> None:
    for name, service in services(deployment).items():
        image = service.get("image")
        assert image, f"{name} names no image"
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest" and "/" not in tag, f"{name}: {image}"


@each_deployment
def test_the_deployment_has_every_part_the_issue_asks_for(deployment: Deployment) -> None:
    found = services(deployment)
    assert len(kafka_nodes(found)) == len(mongods(found)) == deployment.nodes
    assert found["seed-demo-clinic"]["command"] == ["alliance", "ensure-demo-clinic"]
    assert found["mailpit"]["image"].startswith("axllent/mailpit:")
    assert found["prometheus"]["image"].startswith("prom/prometheus:")
    assert found["grafana"]["image"].startswith("grafana/grafana:")
    running = consumers(found)
    assert {service: list(running.values()).count(service) for service in SETTINGS} == deployment.replicas
    # Scaling: the replicas of a service run the same image in the same consumer group.
    for service, settings in SETTINGS.items():
        replicas = [found[name] for name, runs in running.items() if runs == service]
        assert len({replica["image"] for replica in replicas}) == 1, service
        if "group_id" in settings.model_fields:
            groups = {replica["environment"][field_env(settings, "group_id")] for replica in replicas}
            assert len(groups) == 1, service


@each_deployment
def test_each_consumer_replica_has_a_name_of_its_own_or_none(deployment: Deployment) -> None:
    found = services(deployment)
    names = {
        name: found[name]["environment"].get("INSTANCE_ID")
        for name, service in consumers(found).items()
        if "group_id" in SETTINGS[service].model_fields
    }
    if deployment.static_members:
        # Static members (a restarted replica takes its partitions back at once), named after the container.
        assert names == {name: name for name in names}
    else:
        assert set(names.values()) == {None}, "a compose service under --scale would share its name"


# ---- the Dockerfile -----------------------------------------------------------------------------------


def test_one_dockerfile_builds_every_service() -> None:
    assert not list((REPO_ROOT / "services").glob("*/Dockerfile*")), "the services' own Dockerfiles are gone"
    preamble = instructions(DOCKERFILE.read_text().split("\nFROM ", 1)[0])
    assert ("ARG", "SERVICE") in preamble, "SERVICE must be declared before the first FROM"
    last = stages()[-1]
    assert last.base == "${SERVICE}" and ("ARG", "SERVICE") in last.parts
    defined: set[str] = set()
    for stage in stages():
        assert stage.base in defined | {"python:3.11-slim", "${SERVICE}"}, (
            f"unpinned or unknown base {stage.base}"
        )
        defined |= {stage.name} if stage.name else set()
        for kind, argument in stage.parts:
            if kind == "COPY" and not argument.startswith("--"):
                for service in SETTINGS:
                    for source in argument.replace("${SERVICE}", service).split()[:-1]:
                        assert (REPO_ROOT / source).exists(), f"COPY source {source} does not exist"
    assert set(SETTINGS) <= defined, "a stage per service, named as the SERVICE argument names it"
    ignore = [ln for ln in (REPO_ROOT / ".dockerignore").read_text().splitlines() if not ln.startswith("#")]
    assert ignore[0] == "**" and {"!pyproject.toml", "!shared/**", "!services/*/**"} <= set(ignore)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_image_is_multi_stage_non_root_and_copies_only_its_service(name: str) -> None:
    parts = image_of(name)
    users = [argument for kind, argument in parts if kind == "USER"]
    assert users and users[-1] not in {"root", "0"}, "the service must not run as root"
    commands = [argument for kind, argument in parts if kind == "CMD"]
    assert commands[-1] == f'["python", "-m", "services.{name}"]'
    assert (REPO_ROOT / "services" / name / "__main__.py").is_file()
    copies = [argument.split() for kind, argument in parts if kind == "COPY"]
    assert ["--from=dependencies", "/opt/venv", "/opt/venv"] in copies, "the pinned virtualenv, built apart"
    copied = {words[0].rstrip("/") for words in copies if not words[0].startswith("--")}
    assert copied == {"shared", "services/__init__.py", f"services/{name}"}, copied


def test_the_seed_runs_the_cli_that_the_feedback_image_installs() -> None:
    feedback = " ".join(argument for kind, argument in image_of("feedback") if kind == "RUN")
    assert "/opt/venv/bin/alliance" in feedback and "services.feedback.admin" in feedback
    assert (REPO_ROOT / "services" / "feedback" / "admin.py").is_file()
    # scoring's `alliance` fits the expected trajectories and runs a client's data lifecycle, on its database.
    scoring = " ".join(argument for kind, argument in image_of("scoring") if kind == "RUN")
    assert "/opt/venv/bin/alliance" in scoring and "services.scoring.fit_trajectories" in scoring
    assert "services.scoring.lifecycle.cli" in scoring
    assert (REPO_ROOT / "services" / "scoring" / "lifecycle" / "cli.py").is_file()
    assert "services.feedback" not in scoring
    for other in set(SETTINGS) - {"feedback", "scoring"}:
        assert "/opt/venv/bin/alliance" not in " ".join(a for kind, a in image_of(other) if kind == "RUN")


@each_deployment
def test_every_service_is_built_from_the_dockerfile_with_a_valid_service(deployment: Deployment) -> None:
    found = services(deployment)
    for name, service in built(found).items():
        build = found[name]["build"]
        assert (build["context"], build["dockerfile"]) == (".", "Dockerfile"), name
        assert set(build["args"]) == {"SERVICE"} and service in SETTINGS, name
        assert found[name]["image"].rpartition(":")[0] == f"alliance-{service}", name
    assert found["seed-demo-clinic"]["image"] == found["feedback"]["image"]


# ---- settings, ports and health -----------------------------------------------------------------------


@each_deployment
def test_every_environment_variable_is_read_by_the_services_settings(deployment: Deployment) -> None:
    found = services(deployment)
    for name, service in built(found).items():
        environment = found[name]["environment"]
        assert isinstance(environment, dict), f"{name}: use the mapping form"
        read = set().union(*(env_names(settings) for settings in (SETTINGS[service], *ALSO_READ[service])))
        unknown = set(environment) - read
        assert not unknown, f"{name} sets variables its settings class never reads: {sorted(unknown)}"
        assert environment["HTTP_HOST"] == "0.0.0.0", "inside a container the port must bind every interface"


@each_deployment
@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_ports_and_healthchecks_agree_with_the_settings_defaults(deployment: Deployment, name: str) -> None:
    settings = SETTINGS[name]
    port, variable = default_port(settings), port_env(settings)
    found = services(deployment)
    for container, service in consumers(found).items():
        if service == name:
            assert found[container]["environment"][variable] == str(port), container
    assert f"{port}:{port}" in found[name]["ports"]
    parts = image_of(name)
    env = " ".join(argument for kind, argument in parts if kind == "ENV")
    assert f"{variable}={port}" in env
    # The health check reads the port from the variable ALLIANCE_SERVICE names: the settings' own.
    assert f"ALLIANCE_SERVICE={name}" in env and f"{name.upper()}_PORT" == variable
    assert ("EXPOSE", str(port)) in parts
    healthchecks = [argument for kind, argument in parts if kind == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/healthz" in healthchecks[0] and "_PORT" in healthchecks[0]
    assert "CMD" in healthchecks[0] and "ALLIANCE_SERVICE" in healthchecks[0]


@each_deployment
def test_no_two_containers_publish_the_same_host_port(deployment: Deployment) -> None:
    published = [
        str(mapping).rsplit(":", 1)[0]
        for service in services(deployment).values()
        for mapping in service.get("ports", [])
    ]
    assert len(published) == len(set(published)), published


# ---- Kafka and MongoDB --------------------------------------------------------------------------------


@each_deployment
def test_every_kafka_node_keeps_the_promised_replicas(deployment: Deployment) -> None:
    replicas, min_isr = str(deployment.replication_factor), str(deployment.min_insync_replicas)
    expected = {
        "KAFKA_DEFAULT_REPLICATION_FACTOR": replicas,
        "KAFKA_MIN_INSYNC_REPLICAS": min_isr,
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": replicas,
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": replicas,
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": min_isr,
        "KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE": "false",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_PROCESS_ROLES": "broker,controller",
    }
    nodes = kafka_nodes(services(deployment))
    for name, node in nodes.items():
        environment = node["environment"]
        assert node["image"] == KAFKA_IMAGE, name
        assert {key: environment.get(key) for key in expected} == expected, name
        assert "healthcheck" in node and node["restart"] == "unless-stopped", name
    # acks=all writes go on with one node down: the replicas left still make the minimum.
    assert deployment.min_insync_replicas <= max(1, deployment.replication_factor - 1)
    assert deployment.replication_factor <= len(nodes)
    assert len({node["environment"]["KAFKA_NODE_ID"] for node in nodes.values()}) == len(nodes)
    assert len({volume for node in nodes.values() for volume in node["volumes"]}) == len(nodes)


def test_the_cluster_fences_a_lost_broker_as_soon_as_the_local_cluster_does() -> None:
    for name, node in kafka_nodes(services(CLUSTER)).items():
        environment = node["environment"]
        compose = {
            key: environment.get("KAFKA_" + key.upper().replace(".", "_"), "(the default)")
            for key in FAILOVER
        }
        assert compose == {key: str(value) for key, value in FAILOVER.items()}, name


def test_the_cluster_formats_one_dynamic_quorum_of_all_three_nodes() -> None:
    nodes = kafka_nodes(services(CLUSTER))
    controllers = {name: advertised(node)["CONTROLLER"] for name, node in nodes.items()}
    assert controllers == {name: f"{name}:9093" for name in nodes}
    initial = {node["environment"]["INITIAL_CONTROLLERS"] for node in nodes.values()}
    assert len(initial) == 1, "every node is formatted with the same initial controllers"
    assert len({node["environment"]["CLUSTER_ID"] for node in nodes.values()}) == 1
    entries = [re.fullmatch(r"(\d+)@([\w.-]+:\d+):([\w-]{22})", entry) for entry in initial.pop().split(",")]
    assert all(entries), entries
    voters = {(match[1], match[2]) for match in entries if match}
    assert voters == {
        (node["environment"]["KAFKA_NODE_ID"], controllers[name]) for name, node in nodes.items()
    }
    assert len({match[3] for match in entries if match}) == len(nodes), "a directory id per node"
    for name, node in nodes.items():
        environment = node["environment"]
        # Dynamic: the quorum is found through the bootstrap servers; static voters would forbid the format.
        assert "KAFKA_CONTROLLER_QUORUM_VOTERS" not in environment, name
        assert environment["KAFKA_CONTROLLER_QUORUM_BOOTSTRAP_SERVERS"].split(",") == list(
            controllers.values()
        )
        script = node["command"][0]
        assert node["entrypoint"] == ["/bin/bash", "-c"], name
        assert (
            '--initial-controllers "$$INITIAL_CONTROLLERS"' in script
            and '--cluster-id "$$CLUSTER_ID"' in script
        )
        assert script.index("kafka-storage.sh format") < script.index(
            "exec /opt/kafka/bin/kafka-server-start.sh"
        )


@each_deployment
def test_the_services_reach_every_kafka_node_and_every_mongod(deployment: Deployment) -> None:
    found = services(deployment)
    internal = [advertised(node)["INTERNAL"] for node in kafka_nodes(found).values()]
    members = [f"{name}:27017" for name in mongods(found)]
    uri = f"mongodb://{','.join(members)}/?replicaSet=rs0"
    for name in built(found):
        environment = found[name]["environment"]
        assert environment["KAFKA_BOOTSTRAP_SERVERS"].split(",") == internal, name
        assert environment["MONGODB_URI"] == uri, name
    assert found["kafka-topics"]["environment"]["BOOTSTRAP_SERVERS"].split(",") == internal


@each_deployment
def test_the_replica_set_has_every_mongod_as_a_member(deployment: Deployment) -> None:
    found = services(deployment)
    members = mongods(found)
    for name, mongod in members.items():
        assert mongod["image"] == MONGO_IMAGE, name
        assert mongod["command"][:4] == ["mongod", "--replSet", "rs0", "--bind_ip_all"], name
        # The same transaction lifetime as devstack's mongod: a killed replica's transaction never blocks long.
        assert f"transactionLifetimeLimitSeconds={TRANSACTION_LIFETIME_SECONDS}" in mongod["command"], name
        assert "healthcheck" in mongod, name
    assert len({volume for mongod in members.values() for volume in mongod["volumes"]}) == len(members)
    init = found["mongo-init"]
    script = " ".join(init["command"])
    assert init["image"] == MONGO_IMAGE and "rs.initiate" in script and "_id: 'rs0'" in script
    assert re.findall(r"host: '([^']+)'", script) == [f"{name}:27017" for name in members]
    assert init["command"][init["command"].index("--host") + 1] == f"{next(iter(members))}:27017"
    assert "db.hello().primary" in script or "isWritablePrimary" in script, "waits for a primary"
    if len(members) > 1:  # the same failover timeouts as the local cluster's replica set
        settings = re.search(r"settings: \{([^}]*)\}", script)
        assert settings, "the replica set is initiated with its failover settings"
        timeouts = {key: int(value) for key, value in re.findall(r"(\w+): (\d+)", settings[1])}
        assert timeouts == MONGO_FAILOVER
    assert set(init["depends_on"]) == set(members)


@each_deployment
def test_the_topic_list_is_the_one_in_shared_topics(deployment: Deployment) -> None:
    found = services(deployment)
    job = found["kafka-topics"]
    specs = job["environment"]["TOPICS"].split()
    declared = {
        name: (int(partitions), policy) for name, partitions, policy in (spec.split(":") for spec in specs)
    }
    expected = {
        topic.name: (topic.partitions, "compact" if topic.compacted else "delete") for topic in ALL_TOPICS
    }
    assert declared == expected
    assert job["environment"]["REPLICATION_FACTOR"] == str(deployment.replication_factor)
    script = job["command"][0]
    assert '--replication-factor "$$REPLICATION_FACTOR"' in script
    assert '--bootstrap-server "$$BOOTSTRAP_SERVERS"' in script
    assert set(job["depends_on"]) == set(kafka_nodes(found))


def test_the_cluster_creates_topics_and_monitors_as_the_single_node_file_does() -> None:
    single, cluster = services(SINGLE), services(CLUSTER)
    assert cluster["kafka-topics"]["command"] == single["kafka-topics"]["command"]
    for name in MONITORING:
        if name == "prometheus":  # its own scrape targets (test_prometheus_scrapes_every_http_container...)
            differs = {"command": [c.replace(".cluster", "") for c in cluster[name]["command"]]}
            assert {**cluster[name], **differs} == single[name], name
        else:
            assert cluster[name] == single[name], name


# ---- start-up order -----------------------------------------------------------------------------------


@each_deployment
def test_depends_on_conditions_make_sense(deployment: Deployment) -> None:
    found = services(deployment)
    one_shots = {name for name, service in found.items() if service.get("restart") == "no"}
    assert one_shots == ONE_SHOTS
    for name, service in found.items():
        for target, spec in service.get("depends_on", {}).items():
            assert target in found, f"{name} depends on unknown {target}"
            condition = spec["condition"]
            if target in one_shots:
                assert condition == "service_completed_successfully", (name, target)
            elif condition == "service_healthy":
                assert healthchecked(found[target]), f"{name} waits for {target}'s health"
            else:
                assert condition == "service_started", (name, target)
    for name in consumers(found):
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


@each_deployment
def test_prometheus_scrapes_every_http_container_on_its_port(deployment: Deployment) -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / deployment.prometheus_config).read_text())
    targets = {t for job in config["scrape_configs"] for s in job["static_configs"] for t in s["targets"]}
    found = services(deployment)
    containers = {f"{name}:{default_port(SETTINGS[service])}" for name, service in consumers(found).items()}
    assert targets - {"localhost:9090"} == containers
    assert "./deploy/prometheus:/etc/prometheus:ro" in found["prometheus"]["volumes"]
    assert f"--config.file=/etc/prometheus/{deployment.prometheus_config}" in found["prometheus"]["command"]
