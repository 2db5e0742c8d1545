"""Validation against HL7's FHIR R4 JSON schema (vendored: ``vendor/fhir/README.md`` names its source)."""

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

SCHEMA = Path(__file__).parent / "vendor" / "fhir" / "fhir.schema.json"


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA.read_text())
    return schema


@functools.cache
def _validator(resource_type: str | None = None) -> Draft6Validator:
    """The whole schema (any resource), or one resource type's definition (whose errors say where)."""
    schema = _schema()
    if resource_type is not None:
        schema = {"$ref": f"#/definitions/{resource_type}", "definitions": schema["definitions"]}
    return Draft6Validator(schema)


def fhir_problems(resource: Any) -> list[str]:
    """Why ``resource`` is not a valid FHIR R4 resource (JSON) by the whole schema; empty when it is. The
    problems are named by the definition of its type (and, in a Bundle, of each entry's resource): the whole
    schema's own errors only say that no resource type fits."""
    if _validator().is_valid(resource):
        return []
    problems: list[str] = []
    if isinstance(resource, dict) and resource.get("resourceType") == "Bundle":
        for i, entry in enumerate(resource.get("entry") or []):
            inner = entry.get("resource") if isinstance(entry, dict) else None
            problems += [f"entry/{i}/resource/{problem}" for problem in _typed_problems(inner)]
    return problems + _typed_problems(resource) or ["not a FHIR R4 resource"]


def _typed_problems(resource: Any) -> list[str]:
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(kind, str) or kind not in _schema()["definitions"]:
        return [f"unknown resourceType {kind!r}"]
    errors = sorted(_validator(kind).iter_errors(resource), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:20]]
