"""Publish one SRS rating straight to Kafka, as an EHR or survey tool integrating without HTTP would.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 CLINIC_ID=demo python examples/kafka_producer.py

The contract (docs/integration.md): topic ``client.events`` (a client's session records and ratings share it,
so send each client's events in the order they happened); record key ``<clinic_id>:<client_id>``; the
value a CloudEvents 1.0 JSON envelope whose ``type`` names the event, with the tenant in the ``clinicid``
extension and ``data`` valid against schemas/feedback.submitted.v1.json; acks=all with an idempotent producer. Needs only ``aiokafka``.
"""

import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

TOPIC = "client.events"


def feedback_event(clinic_id: str, client_id: str) -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    return {
        "specversion": "1.0",
        # Make the id deterministic (e.g. from your own record id) if you may send the same rating twice:
        # consumers drop an id they have already applied.
        "id": str(uuid.uuid4()),
        "source": f"/clinics/{clinic_id}/survey-tool",
        "type": "org.alliance.feedback.submitted.v1",
        "time": now,
        "subject": f"{clinic_id}:{client_id}",
        "datacontenttype": "application/json",
        "dataschema": "urn:alliance:schema:feedback.submitted.v1",
        "clinicid": clinic_id,
        "data": {
            "session_id": "s-104",
            "therapist_id": "t-7",
            "client_id": client_id,
            "session_at": "2026-11-20T10:00:00+00:00",
            "instrument": "srs",
            "respondent": "client",
            "items": {"relationship": 9.1, "goals": 8.4, "approach": 8.8, "overall": 8.9},
            "submitted_at": now,
        },
    }


async def main() -> None:
    clinic_id = os.environ.get("CLINIC_ID", "demo")
    client_id = os.environ.get("CLIENT_ID", "c-311")
    producer = AIOKafkaProducer(
        bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        acks="all",  # counted only once every in-sync replica has it
        enable_idempotence=True,  # the producer's own retries never write a record twice
    )
    await producer.start()
    try:
        event = feedback_event(clinic_id, client_id)
        metadata = await producer.send_and_wait(
            TOPIC,
            json.dumps(event).encode(),
            key=f"{clinic_id}:{client_id}".encode(),  # one client's events stay in order on one partition
            headers=[("content-type", b"application/cloudevents+json; charset=utf-8")],
        )
    finally:
        await producer.stop()
    print(f"event {event['id']} stored: {TOPIC} partition {metadata.partition} offset {metadata.offset}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
