"""The CloudEvents Kafka binding (shared/contracts/binding.py) and the envelope's extension and tenant rules,
checked against the official Python SDK's reading of the same records."""

import json
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat

from shared.contracts import FEEDBACK_SUBMITTED, CloudEvent, ContractViolation, encode
from shared.contracts.binding import ContentMode, Record, read_record, to_record
from shared.messaging.subscription import InboundTopics, check_key
from tests.unit.test_contracts import EXAMPLES

MODES: tuple[ContentMode, ...] = ("structured", "binary")
INBOUND = InboundTopics.of([FEEDBACK_SUBMITTED])


def rating(**extensions: Any) -> CloudEvent[Any]:
    data = FEEDBACK_SUBMITTED.model.model_validate(EXAMPLES["feedback.submitted"])
    event = FEEDBACK_SUBMITTED.envelope(data, clinic_id="demo", client_id="c-311", source="/tests")
    return event.model_copy(update=extensions) if extensions else event


def consumed(record: Record) -> CloudEvent[Any]:
    """The record as a consumer of the platform reads it: decoded by the contract, its key checked."""
    event = INBOUND.decode("client.events", record.value, list(_as_bytes(record.headers).items()))
    check_key(record.key, event)
    return event


def _as_bytes(headers: dict[str, str]) -> dict[str, bytes]:
    return {name: value.encode() for name, value in headers.items()}


def sdk_reads(record: Record) -> Any:
    message = ce_kafka.KafkaMessage(headers=_as_bytes(record.headers), key=record.key, value=record.value)
    return ce_kafka.from_kafka(message, JSONFormat())


@pytest.mark.parametrize("mode", MODES)
def test_an_event_round_trips_in_either_content_mode(mode: ContentMode) -> None:
    event = rating()
    record = to_record(event, mode)

    assert record.key == b"demo:c-311"
    assert consumed(record) == FEEDBACK_SUBMITTED.decode(encode(event))


def test_the_binary_mode_carries_attributes_as_ce_headers_and_data_as_the_value() -> None:
    event = rating()
    record = to_record(event, "binary")

    assert record.headers["ce_specversion"] == "1.0"
    assert record.headers["ce_id"] == event.id
    assert record.headers["ce_clinicid"] == "demo"
    assert record.headers["ce_subject"] == "demo:c-311"
    assert record.headers["ce_type"] == event.type
    assert record.headers["content-type"] == "application/json"
    assert "ce_datacontenttype" not in record.headers and "ce_data" not in record.headers
    assert json.loads(record.value)["client_id"] == "c-311"


@pytest.mark.parametrize("mode", MODES)
def test_the_official_sdk_reads_what_the_platform_writes(mode: ContentMode) -> None:
    event = rating(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    parsed = sdk_reads(to_record(event, mode))

    assert parsed.get_id() == event.id
    assert parsed.get_type() == event.type
    assert parsed.get_subject() == "demo:c-311"
    assert parsed.get_extension("clinicid") == "demo"
    assert parsed.get_extension("traceparent") == event.extensions["traceparent"]
    assert parsed.get_data()["client_id"] == "c-311"


@pytest.mark.parametrize("mode", MODES)
def test_extension_attributes_are_accepted_and_kept(mode: ContentMode) -> None:
    event = rating(partitionkey="demo:c-311", sequence="7", replayed=True)
    read = consumed(to_record(event, mode))

    # The binary mode carries every attribute as text (the binding has no types in headers).
    assert read.extensions == {
        "partitionkey": "demo:c-311",
        "sequence": "7",
        "replayed": True if mode == "structured" else "true",
    }
    assert json.loads(encode(read))["partitionkey"] == "demo:c-311"  # kept when the event is stored again


@pytest.mark.parametrize("mode", MODES)
def test_an_extension_naming_a_clinic_does_not_change_the_tenant(mode: ContentMode) -> None:
    read = consumed(to_record(rating(tenant="other", clinic="other"), mode))
    assert read.clinicid == "demo"


def test_datacontenttype_is_optional_with_the_specs_default() -> None:
    document = json.loads(encode(rating()))
    del document["datacontenttype"]
    assert FEEDBACK_SUBMITTED.decode(json.dumps(document)).datacontenttype == "application/json"
    sdk_binary = to_record(rating(), "binary")
    without = Record(sdk_binary.key, sdk_binary.value, {**sdk_binary.headers})
    del without.headers["content-type"]
    assert consumed(without).datacontenttype == "application/json"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"datacontenttype": "text/xml"}, "not a JSON media type"),
        ({"data_base64": "eyJ9"}, "data_base64: binary data is not read"),
        ({"Tenant": "x"}, "'Tenant' is not a CloudEvents attribute name"),
        ({"extension": {"nested": 1}}, "extension extension: a string, integer or boolean"),
        ({"subject": "other:c-311"}, "subject names clinic 'other', not the event's clinicid 'demo'"),
    ],
)
def test_what_the_envelope_refuses_is_named(change: dict[str, Any], reason: str) -> None:
    document = {**json.loads(encode(rating())), **change}
    with pytest.raises(ContractViolation, match=reason):
        FEEDBACK_SUBMITTED.decode(json.dumps(document))


def test_a_record_key_naming_another_clinic_is_refused_saying_so() -> None:
    with pytest.raises(ContractViolation, match="record key names clinic 'other', not the event's clinicid"):
        check_key(b"other:c-311", rating())
    with pytest.raises(ContractViolation, match="no key, not the event's subject"):
        check_key(None, rating())


def test_binary_data_that_is_not_json_and_the_batch_format_are_refused_with_a_reason() -> None:
    headers = [("ce_specversion", b"1.0"), ("ce_type", b"org.alliance.feedback.submitted.v1")]
    with pytest.raises(ContractViolation, match="binary-mode data is not JSON"):
        read_record(b"<xml/>", headers)
    with pytest.raises(ContractViolation, match="batch format is not read"):
        read_record(b"[]", [("content-type", b"application/cloudevents-batch+json")])
