"""The adapter between wire contracts and the pure domain: inbound events to facts, domain events to outbound."""

from decimal import Decimal
from typing import Any

from services.scoring import domain
from shared.contracts import (
    RUPTURE_RESOLVED,
    RUPTURE_SUSPECTED,
    CloudEvent,
    ContractViolation,
    EventKind,
    FeedbackSubmittedV1,
    MarkerV1,
    RuptureResolvedV1,
    RuptureSuspectedV1,
    SessionCompletedV1,
)

SOURCE = "/services/scoring"
Outbound = tuple[EventKind[Any], CloudEvent[Any]]


def fact_from(event: CloudEvent[Any]) -> domain.Fact:
    """The domain's reading of an inbound event; a fact the domain refuses is a contract violation."""
    data = event.data
    try:
        if isinstance(data, SessionCompletedV1):
            return domain.AttendanceRecorded(
                event_id=event.id,
                clinic_id=event.clinicid,
                client_id=data.client_id,
                session_id=data.session_id,
                therapist_id=data.therapist_id,
                occurred_at=data.occurred_at,
                attendance=domain.Attendance(data.attendance.value),
                recorded_at=event.time,
            )
        if isinstance(data, FeedbackSubmittedV1):
            return domain.FeedbackRecorded(
                event_id=event.id,
                clinic_id=event.clinicid,
                client_id=data.client_id,
                session_id=data.session_id,
                therapist_id=data.therapist_id,
                session_at=data.session_at,
                respondent=domain.parse_respondent(data.respondent.value),
                scores=domain.validate_scores(data.instrument.value, data.items),
                submitted_at=data.submitted_at,
            )
    except domain.DomainError as error:
        raise ContractViolation(f"refused by the domain: {error}") from error
    raise ContractViolation(f"scoring does not consume {event.type}")


def outbound(event: domain.DomainEvent, timeline: domain.EpisodeTimeline, therapist_id: str) -> Outbound:
    """The wire event announcing a domain event, with the domain's deterministic id."""
    if isinstance(event, domain.RuptureSuspected):
        suspected = RuptureSuspectedV1(
            rupture_id=event.episode_id,
            therapist_id=event.therapist_id,
            client_id=event.client_id,
            session_id=event.session_id,
            session_at=event.session_at,
            severity=event.severity.value,
            previous_severity=None
            if event.previous_severity is domain.Severity.NONE
            else event.previous_severity.value,
            markers=[marker_v1(marker) for marker in event.markers],
            srs_total=_number(event.srs_total),
            baseline=_number(event.baseline),
            stale=event.stale,
        )
        return RUPTURE_SUSPECTED, _envelope(RUPTURE_SUSPECTED, suspected, event.clinic_id, event.event_id)
    resolved = RuptureResolvedV1(
        rupture_id=event.episode_id,
        therapist_id=therapist_id,
        client_id=event.client_id,
        how=event.how.value,
        sessions_to_repair=event.sessions_to_repair,
        resolved_at=event.resolved_at,
        note=event.note,
    )
    return RUPTURE_RESOLVED, _envelope(RUPTURE_RESOLVED, resolved, event.clinic_id, event.event_id)


def marker_v1(marker: domain.Marker) -> MarkerV1:
    return MarkerV1(
        code=marker.code.value,
        family=marker.family.value,
        level=marker.level.value,
        value=_number(marker.observed),
        threshold=_number(marker.threshold),
        dimension=marker.dimension.value if marker.dimension else None,
    )


def _envelope(kind: EventKind[Any], data: Any, clinic_id: str, event_id: str) -> CloudEvent[Any]:
    return kind.envelope(
        data, clinic_id=clinic_id, client_id=data.client_id, source=SOURCE, event_id=event_id
    )


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
