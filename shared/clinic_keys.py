"""Keeps a service's KeyRing in step with the compacted ``clinic.keys`` topic (shared/messaging/compacted.py:
read to its end before the service is ready, so a valid key is never refused just after a restart, then
followed), and publishes key changes."""

from datetime import UTC, datetime

from faststream.kafka import KafkaBroker

from shared.auth import KeyRing, Scope, hash_key
from shared.contracts import CLINIC_KEY, ClinicKeyV1, CloudEvent
from shared.messaging import publish_event
from shared.messaging.compacted import follow_all, read_all

SOURCE = "/operators/admin"


def apply_record(ring: KeyRing, data: ClinicKeyV1) -> None:
    ring.apply(data.key_hash, data.clinic_id, frozenset(Scope(scope) for scope in data.scopes), data.revoked)


def follow_keys(broker: KafkaBroker, ring: KeyRing) -> None:
    """Keep ``ring`` current with every key change published after start-up."""

    async def apply(event: CloudEvent[ClinicKeyV1]) -> None:
        apply_record(ring, event.data)

    follow_all(broker, CLINIC_KEY, apply)


async def catch_up(ring: KeyRing, bootstrap: str, within: float = 30.0) -> int:
    """Read every key record up to the topic's current end; returns how many were applied."""
    return await read_all(bootstrap, CLINIC_KEY, lambda event: apply_record(ring, event.data), within)


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
