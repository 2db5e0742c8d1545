"""Generates the JSON Schema of every event version into ``schemas/``, so other systems can validate.

Run ``python -m shared.contracts.schemas`` after changing a contract; a test fails while the checked-in files
are stale.
"""

import json
import sys
from pathlib import Path

from shared.contracts.envelope import CloudEvent
from shared.contracts.registry import ALL_KINDS

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def generate() -> dict[str, str]:
    """File name to JSON text, for every version of every event kind, each wrapped in its envelope."""
    documents: dict[str, str] = {}
    for kind in ALL_KINDS:
        for version, model in enumerate(kind.versions, start=1):
            schema = CloudEvent[model].model_json_schema()  # type: ignore[valid-type]
            schema = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": kind.schema_urn(version),
                **schema,
                "title": kind.type_name(version),
            }
            documents[f"{kind.name}.v{version}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return documents


def main() -> None:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, text in generate().items():
        (SCHEMA_DIR / name).write_text(text)
        print(f"wrote schemas/{name}", file=sys.stderr)


if __name__ == "__main__":
    main()
