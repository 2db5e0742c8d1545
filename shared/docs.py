"""Generates docs/api/: the OpenAPI document of each HTTP app and the AsyncAPI document of each service's
Kafka side, from the real app factories (nothing is started: no Kafka, no MongoDB).

    python -m shared.docs            # (re)write docs/api/        (`make docs`)
    python -m shared.docs --check    # exit 1 and name the stale files when docs/api/ is out of date

The AsyncAPI documents come from each service's own FastStream broker, as its app factory builds it: its
subscribers (topic, consumer group, the CloudEvent model each handler takes) plus, declared here for the
document only, the topics the service publishes to (the services publish with ``broker.publish`` and so
declare no publisher objects).
"""

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings

from shared import topics
from shared.contracts import (
    ALLIANCE_UPDATED,
    CLINIC_KEY,
    FEEDBACK_SUBMITTED,
    NOTIFICATION_FAILED,
    NOTIFICATION_SENT,
    RUPTURE_ACKNOWLEDGED,
    RUPTURE_RESOLVED,
    RUPTURE_SUSPECTED,
    SESSION_COMPLETED,
    CloudEvent,
    EventKind,
)
from shared.privacy.keys import new_kek

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs" / "api"


@dataclass(frozen=True)
class ServiceDocs:
    name: str
    factory: str  # "module:function"
    settings: str  # "module:Class"
    publishes: tuple[EventKind[Any], ...]


SERVICES = (
    ServiceDocs(
        "feedback",
        "services.feedback.app:create_app",
        "services.feedback.settings:FeedbackSettings",
        (SESSION_COMPLETED, FEEDBACK_SUBMITTED, CLINIC_KEY),
    ),
    ServiceDocs(
        "scoring",
        "services.scoring.app:create_app",
        "services.scoring.settings:ScoringSettings",
        (RUPTURE_SUSPECTED, RUPTURE_RESOLVED, ALLIANCE_UPDATED),
    ),
    ServiceDocs(
        "notify",
        "services.notify.app:create_app",
        "services.notify.settings:NotifySettings",
        (RUPTURE_ACKNOWLEDGED, NOTIFICATION_SENT, NOTIFICATION_FAILED),
    ),
)


def _load(reference: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    module = __import__(module_name, fromlist=[attribute])
    return getattr(module, attribute)


@contextlib.contextmanager
def _brokers_built() -> Iterator[list[KafkaBroker]]:
    """Records every KafkaBroker constructed meanwhile: the app factories keep theirs in closures."""
    built: list[KafkaBroker] = []
    original = KafkaBroker.__init__

    def recording(self: KafkaBroker, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        built.append(self)

    setattr(KafkaBroker, "__init__", recording)  # noqa: B010 - mypy forbids assigning to a method
    try:
        yield built
    finally:
        setattr(KafkaBroker, "__init__", original)  # noqa: B010


def build(service: ServiceDocs) -> tuple[FastAPI, KafkaBroker]:
    """The service's app and broker, from its defaults only (never the caller's environment)."""
    settings_class: type[BaseSettings] = _load(service.settings)
    # A throwaway key-encryption key: building an app needs one, the documents touch no data.
    quiet: dict[str, Any] = {"log_level": "ERROR", "key_encryption_keys": SecretStr(f"docs:{new_kek()}")}
    settings = settings_class.model_construct(**quiet)
    create_app: Callable[[BaseSettings], FastAPI] = _load(service.factory)
    with _brokers_built() as brokers:
        app = create_app(settings)
    assert len(brokers) == 1, f"{service.name}: expected one broker, the factory built {len(brokers)}"
    return app, brokers[0]


def _envelope(model: type[BaseModel]) -> Any:
    return CloudEvent[model]  # type: ignore[valid-type]


def _other_topics(service: ServiceDocs, kind: EventKind[Any]) -> set[str]:
    return {other.topic.name for other in service.publishes if other is not kind}


def asyncapi(service: ServiceDocs, broker: KafkaBroker) -> dict[str, Any]:
    shared = {
        kind.topic.name for kind in service.publishes if kind.topic.name in _other_topics(service, kind)
    }
    for kind in (*service.publishes, None):
        topic = kind.topic.name if kind else topics.DEAD_LETTER.name
        model = _envelope(kind.versions[-1]) if kind else bytes
        broker.publisher(
            topic,
            # A topic of several kinds (client.events) gets one channel per kind, each with its schema.
            title=f"{topic}:{kind.name}:publish" if kind and topic in shared else f"{topic}:publish",
            description=(
                f"{service.name} publishes {kind.type_name(kind.latest_version)} events, keyed clinic:client"
                + (
                    ", beside the client's other events in the order they were produced."
                    if topic in shared
                    else "."
                )
                if kind
                else "Messages that can never be processed: the original bytes, reason in headers."
            ),
            schema=model,
        )
    spec = AsyncAPI(
        broker,
        title=f"Alliance {service.name}: Kafka",
        version="1",
        description=f"What the {service.name} service consumes and publishes. Every event is a CloudEvents "
        "1.0 envelope (JSON, structured mode); schemas/ has the JSON Schema of every version.",
    ).to_specification()
    document: dict[str, Any] = json.loads(spec.to_json())
    return document


def generate() -> dict[str, str]:
    """File name (in docs/api/) to its text, for every document."""
    documents: dict[str, str] = {}
    for service in SERVICES:
        app, broker = build(service)
        documents[f"openapi-{service.name}.json"] = _dump(app.openapi())
        documents[f"asyncapi-{service.name}.json"] = _dump(asyncapi(service, broker))
    return documents


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    parser.add_argument("--out", type=Path, default=DOCS_DIR, help="directory of the documents")
    args = parser.parse_args(argv)
    documents = generate()
    if args.check:
        stale = sorted(
            name
            for name, text in documents.items()
            if not (args.out / name).exists() or (args.out / name).read_text() != text
        )
        extra = sorted(p.name for p in args.out.glob("*api-*.json") if p.name not in documents)
        for name in stale:
            print(f"stale: docs/api/{name} (run `make docs`)", file=sys.stderr)
        for name in extra:
            print(f"not generated any more: docs/api/{name} (delete it)", file=sys.stderr)
        return 1 if stale or extra else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in documents.items():
        (args.out / name).write_text(text)
        print(f"wrote docs/api/{name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
