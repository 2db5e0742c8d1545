"""Kafka topic names and partition counts, in one place.

Every record is keyed by ``clinic_id:client_id`` so that one client's events stay ordered on one partition.
The events a client's history is made of share one topic (``client.events``); every other event type travels
on a topic of its own.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    compacted: bool = False


CLIENT_EVENTS = Topic("client.events", 6)
"""A client's session records and ratings, and every later client event of version 2, in the order they were
produced. Kafka orders records only within one partition of one topic: on two topics a rating could be applied
after later session records, and the alerts announced about those intermediate states are not in the full
history (an alert is never retracted). One topic, keyed ``clinic_id:client_id``, keeps each client's events in
production order. Consumers tell the events apart by their CloudEvent ``type``."""

# Deprecated for one release: the topics session records and ratings travelled on before ``client.events``.
# Scoring still reads them, for systems that produce to Kafka directly; the platform no longer writes to them.
SESSION_COMPLETED = Topic("session.completed", 6)
FEEDBACK_SUBMITTED = Topic("feedback.submitted", 6)
RUPTURE_SUSPECTED = Topic("rupture.suspected", 6)
RUPTURE_RESOLVED = Topic("rupture.resolved", 6)
RUPTURE_ACKNOWLEDGED = Topic("rupture.acknowledged", 6)
ALLIANCE_UPDATED = Topic("alliance.updated", 6)
TRAJECTORIES_FITTED = Topic("trajectories.fitted", 1, compacted=True)  # the latest model per clinic
NOTIFICATION_SENT = Topic("notification.sent", 6)
NOTIFICATION_FAILED = Topic("notification.failed", 6)
DEAD_LETTER = Topic("deadletter", 1)
CLINIC_KEYS = Topic("clinic.keys", 1, compacted=True)
# Erased clients, the latest record per client kept for good: a replay, and every service, skips them.
CLIENT_ERASED = Topic("client.erased", 1, compacted=True)

ALL_TOPICS: tuple[Topic, ...] = (
    CLIENT_EVENTS,
    SESSION_COMPLETED,
    FEEDBACK_SUBMITTED,
    RUPTURE_SUSPECTED,
    RUPTURE_RESOLVED,
    RUPTURE_ACKNOWLEDGED,
    ALLIANCE_UPDATED,
    TRAJECTORIES_FITTED,
    NOTIFICATION_SENT,
    NOTIFICATION_FAILED,
    DEAD_LETTER,
    CLINIC_KEYS,
    CLIENT_ERASED,
)


def message_key(clinic_id: str, client_id: str) -> bytes:
    """The partition key: one client's events stay in order on one partition."""
    return f"{clinic_id}:{client_id}".encode()
