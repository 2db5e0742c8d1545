"""Event contracts: the CloudEvents envelope, the versioned event models and their registry."""

from shared.contracts.envelope import CloudEvent
from shared.contracts.events import (
    Attendance,
    FeedbackSubmittedV1,
    MarkerV1,
    RuptureAcknowledgedV1,
    RuptureResolvedV1,
    RuptureSuspectedV1,
    SessionCompletedV1,
    Severity,
)
from shared.contracts.registry import (
    ALL_KINDS,
    FEEDBACK_SUBMITTED,
    RUPTURE_ACKNOWLEDGED,
    RUPTURE_RESOLVED,
    RUPTURE_SUSPECTED,
    SESSION_COMPLETED,
    ContractViolation,
    EventKind,
    derived_event_id,
    encode,
)
from shared.instruments import Instrument, Respondent

__all__ = [
    "ALL_KINDS",
    "FEEDBACK_SUBMITTED",
    "RUPTURE_ACKNOWLEDGED",
    "RUPTURE_RESOLVED",
    "RUPTURE_SUSPECTED",
    "SESSION_COMPLETED",
    "Attendance",
    "CloudEvent",
    "ContractViolation",
    "EventKind",
    "FeedbackSubmittedV1",
    "Instrument",
    "MarkerV1",
    "Respondent",
    "RuptureAcknowledgedV1",
    "RuptureResolvedV1",
    "RuptureSuspectedV1",
    "SessionCompletedV1",
    "Severity",
    "derived_event_id",
    "encode",
]
