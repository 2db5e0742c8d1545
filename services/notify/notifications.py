"""The audit events of a delivery: notification.sent and notification.failed. Pseudonymous ids only."""

from datetime import datetime
from typing import Any

from services.notify.alert import Delivery
from shared.contracts import (
    NOTIFICATION_FAILED,
    NOTIFICATION_SENT,
    CloudEvent,
    EventKind,
    NotificationFailedV1,
    NotificationSentV1,
    derived_event_id,
)

SOURCE = "/services/notify"


def _common(delivery: Delivery) -> dict[str, Any]:
    rupture = delivery.rupture
    return {
        "delivery_id": delivery.delivery_id,
        "rupture_id": rupture.rupture_id,
        "therapist_id": rupture.therapist_id,
        "client_id": rupture.client_id,
        "severity": rupture.severity,
        "reason": delivery.reason,
        "channel": delivery.recipient.channel,
        "recipient_kind": delivery.recipient.kind,
        "attempts": delivery.attempts,
    }


def sent_event(delivery: Delivery, at: datetime) -> tuple[EventKind[Any], CloudEvent[Any]]:
    data = NotificationSentV1(**_common(delivery), sent_at=at)
    return NOTIFICATION_SENT, _envelope(NOTIFICATION_SENT, data, delivery)


def failed_event(delivery: Delivery, at: datetime, error: str) -> tuple[EventKind[Any], CloudEvent[Any]]:
    data = NotificationFailedV1(**_common(delivery), error=error[:300], failed_at=at)
    return NOTIFICATION_FAILED, _envelope(NOTIFICATION_FAILED, data, delivery)


def _envelope(kind: EventKind[Any], data: Any, delivery: Delivery) -> CloudEvent[Any]:
    return kind.envelope(
        data,
        clinic_id=delivery.clinic_id,
        client_id=delivery.rupture.client_id,
        source=SOURCE,
        event_id=derived_event_id(kind.name, delivery.delivery_id),
    )
