"""Keeps a service's KeyRing in step with the compacted ``clinic.keys`` topic, and publishes key changes.

At start-up the ring reads the topic up to its end offsets before the service reports ready, so a valid key
is never refused just after a restart. From then on a FastStream subscriber outside any consumer group (every
instance sees every record) applies changes as they come; re-reading a record is harmless.
"""

from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from shared.auth import KeyRing, Scope, hash_key
from shared.contracts import CLINIC_KEY, ClinicKeyV1, CloudEvent, ContractViolation
from shared.messaging import publish_event
from shared.messaging.reading import read_to_end
from shared.messaging.subscription import contract_decoder

SOURCE = "/operators/admin"


def apply_record(ring: KeyRing, data: ClinicKeyV1) -> None:
    ring.apply(data.key_hash, data.clinic_id, frozenset(Scope(scope) for scope in data.scopes), data.revoked)


def follow_keys(broker: KafkaBroker, ring: KeyRing) -> None:
    """Keep ``ring`` current with every key change published after start-up."""

    @broker.subscriber(
        CLINIC_KEY.topic.name,
        group_id=None,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK_FIRST,
        decoder=contract_decoder(CLINIC_KEY),
    )
    async def on_key_changed(event: CloudEvent[ClinicKeyV1]) -> None:
        apply_record(ring, event.data)


async def catch_up(ring: KeyRing, bootstrap: str, within: float = 30.0) -> int:
    """Read every key record up to the topic's current end; returns how many were applied."""
    applied = 0

    def apply(record: Any) -> None:
        nonlocal applied
        try:
            apply_record(ring, CLINIC_KEY.decode(record.value).data)
            applied += 1
        except ContractViolation:
            pass  # the live subscriber dead-letters it; start-up must not fail on it

    topic = CLINIC_KEY.topic
    await read_to_end(
        bootstrap, [TopicPartition(topic.name, p) for p in range(topic.partitions)], apply, within
    )
    return applied


async def publish_key(
    broker: KafkaBroker, clinic_id: str, api_key: str, scopes: frozenset[Scope], revoked: bool = False
) -> str:
    """Publish the state of ``api_key``; returns its key id (a prefix of the hash, safe to show)."""
    return await publish_key_hash(broker, clinic_id, hash_key(api_key), scopes, revoked)


async def publish_key_hash(
    broker: KafkaBroker, clinic_id: str, key_hash: str, scopes: frozenset[Scope], revoked: bool
) -> str:
    data = ClinicKeyV1(
        key_hash=key_hash,
        clinic_id=clinic_id,
        scopes=sorted(scopes),
        revoked=revoked,
        changed_at=datetime.now(UTC),
    )
    event = CLINIC_KEY.envelope(data, clinic_id=clinic_id, subject=key_hash, source=SOURCE)
    await publish_event(broker, CLINIC_KEY, event)
    return key_hash[:12]
