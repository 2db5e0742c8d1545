"""The CloudEvents Kafka protocol binding: how an event travels in a Kafka record, in either content mode.

- **Structured**: the whole event, attributes and ``data``, is the record's value in the JSON event format, with
  the header ``content-type: application/cloudevents+json``.
- **Binary**: each attribute is a header ``ce_<name>`` (UTF-8 text), ``datacontenttype`` is the
  ``content-type`` header, and the value is ``data`` alone.

A record is binary when it has a ``ce_specversion`` header (the binding's own test); anything else is read as
structured, as every producer before the binary mode wrote it. Both are read into the same envelope document,
so one contract (shared/contracts/envelope.py) validates what either mode brings. The key is not an attribute:
the binding maps it to and from ``partitionkey`` for SDKs, and the platform checks it against the subject.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from shared.contracts.envelope import CloudEvent
from shared.contracts.registry import ContractViolation, encode

ContentMode = Literal["structured", "binary"]
CLOUDEVENTS_JSON = "application/cloudevents+json; charset=utf-8"
HEADER_PREFIX = "ce_"
CONTENT_TYPE = "content-type"
# The event id beside a structured record's value, so logs can name a record before (or without) decoding it.
# Not an attribute header: the binary mode's own is ``ce_id``.
EVENT_ID_HEADER = "ce-id"
BINARY_ID_HEADER = f"{HEADER_PREFIX}id"


@dataclass(frozen=True, slots=True)
class Record:
    """What a producer hands Kafka for one event."""

    key: bytes
    value: bytes
    headers: dict[str, str]


def to_record(event: CloudEvent[Any], mode: ContentMode = "structured") -> Record:
    """The record of ``event``, keyed by its subject (``clinic_id:client_id``), or its clinic without one."""
    key = (event.subject or event.clinicid).encode()
    if mode == "structured":
        return Record(key, encode(event), structured_headers(event.id))
    return binary_record(key, json.loads(encode(event)))


def structured_headers(event_id: str) -> dict[str, str]:
    return {CONTENT_TYPE: CLOUDEVENTS_JSON, EVENT_ID_HEADER: event_id}


def binary_record(key: bytes, document: Mapping[str, Any]) -> Record:
    """The binary record of an event given as its structured JSON document."""
    attributes = {name: value for name, value in document.items() if name != "data"}
    headers = {f"{HEADER_PREFIX}{name}": header_text(value) for name, value in attributes.items()}
    if "datacontenttype" in attributes:
        headers[CONTENT_TYPE] = headers.pop(f"{HEADER_PREFIX}datacontenttype")
    return Record(key, json.dumps(document.get("data"), separators=(",", ":")).encode(), headers)


def header_text(value: Any) -> str:
    """An attribute's canonical string form (CloudEvents type system): booleans are ``true``/``false``."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def read_record(value: bytes | None, headers: Iterable[tuple[str, bytes]]) -> bytes | dict[str, Any]:
    """The event of one consumed record: a structured record's value as it is (the decoder parses it), or the
    document a binary record's headers and value make. ContractViolation names what no mode can read."""
    found = {name.lower(): raw for name, raw in headers}
    if f"{HEADER_PREFIX}specversion" not in found:
        content_type = _text(found.get(CONTENT_TYPE, b""), CONTENT_TYPE)
        if content_type.startswith("application/cloudevents-batch"):
            raise ContractViolation("the CloudEvents batch format is not read: send one event per record")
        return value or b""
    document: dict[str, Any] = {
        name[len(HEADER_PREFIX) :]: _text(raw, name)
        for name, raw in found.items()
        if name.startswith(HEADER_PREFIX)
    }
    if CONTENT_TYPE in found:
        document["datacontenttype"] = _text(found[CONTENT_TYPE], CONTENT_TYPE)
    try:
        document["data"] = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError) as error:
        raise ContractViolation(f"binary-mode data is not JSON: {error}") from error
    return document


def _text(raw: bytes | None, header: str) -> str:
    try:
        return (raw or b"").decode()
    except UnicodeDecodeError:
        raise ContractViolation(f"header {header} is not UTF-8 text") from None
