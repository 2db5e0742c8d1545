"""The checked-in API documents (docs/api/) pass validators the platform did not write: every AsyncAPI document
the AsyncAPI Initiative's own parser (npm ``@asyncapi/parser``, node/validate-asyncapi.mjs), every OpenAPI
document ``openapi-spec-validator``. A deliberately broken copy shows that each validator can refuse."""

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema_path import SchemaPath
from openapi_spec_validator import validate
from openapi_spec_validator.shortcuts import get_validator_cls
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from tests.conformance.node import run_node
from tests.ops.tools import REPO_ROOT

DOCS = REPO_ROOT / "docs" / "api"
SERVICES = ("feedback", "scoring", "notify")


async def asyncapi_verdicts(*files: Path) -> list[dict[str, Any]]:
    """What @asyncapi/parser said of each file: parsed or not, and its diagnostics."""
    answer = await run_node("validate-asyncapi.mjs", {"files": [str(file) for file in files]}, within=120)
    verdicts: list[dict[str, Any]] = answer["documents"]
    assert [verdict["file"] for verdict in verdicts] == [str(file) for file in files]
    return verdicts


def errors_of(verdict: dict[str, Any]) -> list[str]:
    return [
        f"{d['code']} at /{d['path']}: {d['message']}"
        for d in verdict["diagnostics"]
        if d["severity"] == "error"
    ]


def openapi_errors(document: dict[str, Any]) -> list[str]:
    """Every complaint of openapi-spec-validator, not only the first one ``validate`` raises."""
    validator = get_validator_cls(document)(SchemaPath.from_dict(document))
    return [str(error).splitlines()[0] for error in validator.iter_errors()]


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


async def test_every_asyncapi_document_passes_the_asyncapi_parser() -> None:
    files = [DOCS / f"asyncapi-{service}.json" for service in SERVICES]
    for verdict in await asyncapi_verdicts(*files):
        assert not errors_of(verdict), f"{verdict['file']}:\n" + "\n".join(errors_of(verdict))
        assert verdict["parsed"] and verdict["version"].startswith("3."), verdict


@pytest.mark.parametrize("service", SERVICES)
def test_every_openapi_document_passes_openapi_spec_validator(service: str) -> None:
    document = load(DOCS / f"openapi-{service}.json")
    try:
        validate(document)
    except OpenAPIValidationError:
        pytest.fail(f"openapi-{service}.json:\n" + "\n".join(openapi_errors(document)))


async def test_the_asyncapi_parser_refuses_a_broken_document(tmp_path: Path) -> None:
    document = load(DOCS / "asyncapi-notify.json")
    operation = next(iter(document["operations"].values()))
    operation["channel"]["$ref"] = "#/channels/nowhere"  # an operation on a channel nobody declared
    del document["info"]
    broken = tmp_path / "asyncapi-broken.json"
    broken.write_text(json.dumps(document))

    (verdict,) = await asyncapi_verdicts(broken)

    errors = errors_of(verdict)
    assert not verdict["parsed"]
    assert any("#/channels/nowhere" in error for error in errors), errors
    assert any('"info"' in error for error in errors), errors


def test_openapi_spec_validator_refuses_a_broken_document() -> None:
    document = load(DOCS / "openapi-scoring.json")
    path = "/v1/clients/{client_id}"
    for operation in document["paths"][path].values():
        operation.pop("parameters", None)  # the path's template names a parameter no operation declares
    document["paths"]["/healthz"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {
        "type": "text"
    }

    with pytest.raises(OpenAPIValidationError):
        validate(document)
    errors = openapi_errors(document)
    assert any("'client_id'" in error and path in error for error in errors), errors
    assert any("'text'" in error for error in errors), errors
