"""What an alert says. Pure: pseudonymous ids, severity and markers; never the client's comment."""

from typing import Any

from shared.contracts import CloudEvent, RuptureSuspectedV1


def alert_id(event: CloudEvent[RuptureSuspectedV1], channel: str) -> str:
    """Stable per event and channel, so a receiver can drop a retried delivery."""
    return f"{event.id}:{channel}"


def alert_body(event: CloudEvent[RuptureSuspectedV1], channel: str) -> dict[str, Any]:
    rupture = event.data
    return {
        "alert_id": alert_id(event, channel),
        "kind": "rupture.suspected",
        "clinic_id": event.clinicid,
        "rupture_id": rupture.rupture_id,
        "therapist_id": rupture.therapist_id,
        "client_id": rupture.client_id,
        "session_id": rupture.session_id,
        "session_at": rupture.session_at.isoformat(),
        "severity": rupture.severity.value,
        "previous_severity": rupture.previous_severity.value if rupture.previous_severity else None,
        "stale": rupture.stale,
        "srs_total": rupture.srs_total,
        "baseline": rupture.baseline,
        "markers": [marker.model_dump(mode="json", exclude_none=True) for marker in rupture.markers],
    }
