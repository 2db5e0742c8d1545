"""The whole platform writing binary-mode records (``EVENT_CONTENT_MODE=binary`` on all three services): a rating
taken over HTTP travels as a binary record, scoring reads it, the alert travels as one too, notify reads it and
calls the webhook; and the official Python SDK reads both records."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat

from tests.conformance.test_cloudevents_kafka import alerts_for
from tests.e2e.conftest import Platform
from tests.support.kafka import records_matching

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform_env() -> dict[str, str]:
    return {"EVENT_CONTENT_MODE": "binary"}


def sdk_event(record: Any) -> Any:
    message = ce_kafka.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    return ce_kafka.from_binary(message, JSONFormat())


async def test_every_service_writes_binary_records_that_every_service_and_the_sdk_read(
    platform: Platform, unique: str
) -> None:
    client_id = f"c-bin-{unique}"
    rating = {
        "session_id": f"s-{unique}",
        "therapist_id": "t-1",
        "client_id": client_id,
        "session_at": (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat(),
        "instrument": "srs",
        "respondent": "client",
        "items": {"relationship": 7.5, "goals": 7.5, "approach": 7.5, "overall": 7.5},
    }
    async with httpx.AsyncClient(base_url=platform.feedback_url, headers=platform.auth) as http:
        answer = await http.post("/v1/feedback", json=rating)
    assert answer.status_code == 202, answer.text

    assert await alerts_for(platform, client_id, 1) == 1
    key = f"{platform.clinic_id}:{client_id}".encode()
    for topic, type_prefix in (
        ("client.events", "org.alliance.feedback.submitted.v"),
        ("rupture.suspected", "org.alliance.rupture.suspected.v"),
    ):
        [record] = await records_matching(platform.kafka_bootstrap, topic, lambda r: r.key == key, expected=1)
        headers = dict(record.headers)
        assert headers["ce_specversion"] == b"1.0" and headers["content-type"] == b"application/json"
        assert b"specversion" not in record.value  # the value is data alone
        event = sdk_event(record)
        assert event.get_type().startswith(type_prefix)
        assert event.get_extension("clinicid") == platform.clinic_id
        assert event.get_data()["client_id"] == client_id
