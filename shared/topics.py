"""Kafka topic names and partition counts, in one place.

Every event type travels on a topic of its own, keyed by ``clinic_id:client_id`` so that one client's
events stay ordered on one partition.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    compacted: bool = False


SESSION_COMPLETED = Topic("session.completed", 6)
FEEDBACK_SUBMITTED = Topic("feedback.submitted", 6)
RUPTURE_SUSPECTED = Topic("rupture.suspected", 6)
RUPTURE_RESOLVED = Topic("rupture.resolved", 6)
RUPTURE_ACKNOWLEDGED = Topic("rupture.acknowledged", 6)
ALLIANCE_UPDATED = Topic("alliance.updated", 6)
NOTIFICATION_SENT = Topic("notification.sent", 6)
NOTIFICATION_FAILED = Topic("notification.failed", 6)
DEAD_LETTER = Topic("deadletter", 1)
CLINIC_KEYS = Topic("clinic.keys", 1, compacted=True)

ALL_TOPICS: tuple[Topic, ...] = (
    SESSION_COMPLETED,
    FEEDBACK_SUBMITTED,
    RUPTURE_SUSPECTED,
    RUPTURE_RESOLVED,
    RUPTURE_ACKNOWLEDGED,
    ALLIANCE_UPDATED,
    NOTIFICATION_SENT,
    NOTIFICATION_FAILED,
    DEAD_LETTER,
    CLINIC_KEYS,
)


def message_key(clinic_id: str, client_id: str) -> bytes:
    """The partition key: one client's events stay in order on one partition."""
    return f"{clinic_id}:{client_id}".encode()
