"""The adapter between wire contracts and the pure domain: inbound events to facts and clinician actions,
domain events and summaries to outbound events."""

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from services.scoring import domain
from services.scoring.projection import episode_therapist
from shared.contracts import (
    ALLIANCE_UPDATED,
    RUPTURE_RESOLVED,
    RUPTURE_SUSPECTED,
    AllianceUpdatedV1,
    CloudEvent,
    ContractViolation,
    EventKind,
    FeedbackSubmittedV1,
    GoalClosedV1,
    GoalsAgreedV1,
    MarkerV2,
    NoteAnsweredV1,
    NoteSharedV1,
    RepairTags,
    RuptureAcknowledgedV2,
    RuptureResolvedV5,
    RuptureSuspectedV4,
    SessionCompletedV1,
    derived_event_id,
)

SOURCE = "/services/scoring"
Outbound = tuple[EventKind[Any], CloudEvent[Any]]
# pydantic keeps the classes of parametrised generic models only weakly: unless someone holds one, a garbage
# collection lets go of CloudEvent[AllianceUpdatedV1] and the next envelope builds the class again, which costs
# milliseconds (seen every few hundred events). Holding the envelopes of what scoring emits keeps them built.
_ENVELOPES = tuple(
    CloudEvent[kind.model]  # type: ignore[name-defined]
    for kind in (ALLIANCE_UPDATED, RUPTURE_SUSPECTED, RUPTURE_RESOLVED)
)
# Each way an episode closes, as the wire says it; settled is its own word, never folded into repaired.
RESOLUTION_HOW: dict[domain.ResolutionHow, Literal["repaired", "manual", "settled"]] = {
    domain.ResolutionHow.REPAIRED: "repaired",
    domain.ResolutionHow.MANUAL: "manual",
    domain.ResolutionHow.SETTLED: "settled",
}


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
        # The words of notes and goals stay out: no rule reads them.
        if isinstance(data, NoteSharedV1):
            return domain.NoteShared(**_about_session(event), note_id=data.note_id, shared_at=data.shared_at)
        if isinstance(data, NoteAnsweredV1):
            return domain.NoteAnswered(
                **_about_session(event),
                note_id=data.note_id,
                fit=domain.NoteFit(data.fit.value),
                answered_at=data.answered_at,
            )
        if isinstance(data, GoalsAgreedV1):
            ids = tuple(goal.goal_id for goal in data.goals)
            return domain.GoalsAgreed(**_about_session(event), goal_ids=ids, agreed_at=data.agreed_at)
        if isinstance(data, GoalClosedV1):
            return domain.GoalClosed(
                **_about_session(event),
                goal_id=data.goal_id,
                outcome=domain.GoalOutcome(data.outcome.value),
                closed_at=data.closed_at,
            )
    except domain.DomainError as error:
        raise ContractViolation(f"refused by the domain: {error}") from error
    raise ContractViolation(f"scoring does not consume {event.type}")


def _about_session(event: CloudEvent[Any]) -> dict[str, Any]:
    """The fields of ``domain.SessionFact``: which event, and whose session."""
    return {
        "event_id": event.id,
        "clinic_id": event.clinicid,
        **event.data.model_dump(include={"client_id", "session_id", "therapist_id", "session_at"}),
    }


def acknowledgement_from(event: CloudEvent[RuptureAcknowledgedV2]) -> domain.Acknowledgement:
    data = event.data
    return domain.Acknowledgement(
        data.rupture_id, data.acknowledged_by, data.acknowledged_at, tags_from(data)
    )


def tags_from(data: RepairTags) -> domain.RepairTags:
    return domain.RepairTags(data.rupture_type, tuple(data.strategies))


def tags_of(tags: domain.RepairTags) -> RepairTags:
    return RepairTags(rupture_type=tags.rupture_type, strategies=list(tags.strategies))


def manual_resolution_from(event: CloudEvent[RuptureResolvedV5]) -> domain.ManualResolution | None:
    """The clinician action a manual ``rupture.resolved`` records (None for a repair, or a v1 event that
    never said who resolved: such an action cannot be re-created faithfully)."""
    data = event.data
    if data.how != "manual" or not data.resolved_by or not data.note:
        return None
    try:
        return domain.ManualResolution(
            data.rupture_id, data.resolved_by, data.resolved_at, data.note, tags_from(data)
        )
    except domain.DomainError:
        return None


def outbound(
    event: domain.DomainEvent,
    assessment: domain.ClientAssessment,
    occurred_at: datetime | None = None,
    from_history: bool = False,
) -> Outbound:
    """The wire event announcing a domain event, with the domain's deterministic id. ``from_history``: the
    alert is about a session older than the clinic's push horizon (recorded and shown, never pushed)."""
    if isinstance(event, domain.RuptureSuspected):
        suspected = RuptureSuspectedV4(
            rupture_id=event.episode_id,
            therapist_id=event.therapist_id,
            client_id=event.client_id,
            session_id=event.session_id,
            session_at=event.session_at,
            severity=event.severity.value,
            previous_severity=None
            if event.previous_severity is domain.Severity.NONE
            else event.previous_severity.value,
            markers=[marker_v2(marker) for marker in event.markers],
            srs_total=_number(event.srs_total),
            baseline=_number(event.baseline),
            stale=event.stale,
            from_history=from_history,
            recognised_by=event.recognition.value,
        )
        # The suspicion happened when the rating that raised it arrived: notify measures alert latency from it.
        return RUPTURE_SUSPECTED, _envelope(
            RUPTURE_SUSPECTED, suspected, event.clinic_id, event.event_id, occurred_at
        )
    episode = assessment.timeline.episode(event.episode_id)
    if episode is None:  # the timeline produced the event, so it knows the episode
        raise LookupError(f"no episode {event.episode_id} in the assessment")
    resolved = RuptureResolvedV5(
        **tags_of(event.tags).model_dump(),
        rupture_id=event.episode_id,
        therapist_id=episode_therapist(episode, assessment),
        client_id=event.client_id,
        how=RESOLUTION_HOW[event.how],
        sessions_to_repair=event.sessions_to_repair,
        resolved_at=event.resolved_at,
        note=event.note,
        resolved_by=event.resolved_by,
    )
    return RUPTURE_RESOLVED, _envelope(RUPTURE_RESOLVED, resolved, event.clinic_id, event.event_id)


def alliance_updated(assessment: domain.ClientAssessment, caused_by: str) -> Outbound | None:
    """The client's new summary, with an id derived from the event that caused it (None before any session)."""
    summary = assessment.summary
    latest = assessment.sessions[-1] if assessment.sessions else None
    if latest is None:
        return None
    open_episode = summary.open_episode
    updated = AllianceUpdatedV1(
        client_id=summary.client_id,
        therapist_id=latest.session.therapist_id,
        caused_by=caused_by,
        session_count=summary.session_count,
        latest_session_id=summary.latest_session_id,
        latest_session_at=summary.latest_session_at,
        latest_srs_total=_number(summary.latest_srs_total),
        baseline=_number(summary.baseline),
        trend=_number(summary.trend),
        latest_severity=summary.latest_severity.value,
        open_rupture_id=open_episode.episode_id if open_episode else None,
        open_rupture_severity=open_episode.severity.value if open_episode else None,
    )
    event_id = derived_event_id(summary.clinic_id, summary.client_id, caused_by, ALLIANCE_UPDATED.name)
    return ALLIANCE_UPDATED, _envelope(ALLIANCE_UPDATED, updated, summary.clinic_id, event_id)


def marker_v2(marker: domain.Marker) -> MarkerV2:
    return MarkerV2(
        code=marker.code.value,
        family=marker.family.value,
        level=marker.level.value,
        value=_number(marker.observed),
        threshold=_number(marker.threshold),
        dimension=marker.dimension.value if marker.dimension else None,
        expected=_number(marker.expected),
        model_version=marker.model,
    )


def _envelope(
    kind: EventKind[Any], data: Any, clinic_id: str, event_id: str, time: datetime | None = None
) -> CloudEvent[Any]:
    return kind.envelope(
        data, clinic_id=clinic_id, client_id=data.client_id, source=SOURCE, event_id=event_id, time=time
    )


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
