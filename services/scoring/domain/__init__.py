"""The scoring service's pure domain: instruments, a client's history, markers, severity, rupture episodes.

No I/O and no imports from Kafka, MongoDB, FastAPI or ``shared/``: adapters map wire events onto the facts
here and the domain events here onto wire events. Typical use by an entry point::

    history = stored_history.with_fact(fact)            # idempotent, order-independent
    assessment = assess_client(history, thresholds, actions)
    events = assessment.owed_events(emitted_log)        # publish these via the outbox
    emitted_log = emitted_log.record(events)
"""

from shared.instruments import (
    INSTRUMENTS,
    SRS_ITEM_DIMENSIONS,
    WAI_SR_SUBSCALES,
    AllianceDimension,
    Instrument,
    InstrumentSpec,
    Respondent,
    Scores,
    parse_instrument,
    parse_respondent,
    srs_dimension,
    validate_scores,
    wai_sr_subscales,
)

from .actions import UNTAGGED, Acknowledgement, ClinicianActions, InvalidAction, ManualResolution, RepairTags
from .announcements import Announcement, EmittedLog, adopted, alerts_from_history, is_history, owed_events
from .assessment import RULES_VERSION, ClientAssessment, assess_client, rules_version
from .episodes import EpisodeTimeline, RuptureEpisode, rupture_episode_id
from .errors import ConflictingFact, DomainError, InvalidFact, InvalidScores, InvalidThresholds
from .events import DomainEvent, ResolutionHow, RuptureResolved, RuptureSuspected, resolution_event_id
from .facts import (
    Attendance,
    AttendanceRecorded,
    Fact,
    FeedbackRecorded,
    GoalClosed,
    GoalOutcome,
    GoalsAgreed,
    NoteAnswered,
    NoteFit,
    NoteShared,
)
from .history import ClientHistory, Session
from .markers import ALLIANCE_FAMILIES, MARKER_TABLE, Marker, MarkerCode, MarkerFamily
from .marking import MarkedSession, mark_session
from .recognition import Recognition
from .severity import Severity, severity_of
from .summary import ClientSummary, summarize
from .thresholds import MARKER_TABLE_NUMBERS, SETTING_NAMES, Thresholds
from .trajectories import BandFit, ExpectedTrajectories, IntakeBand, TrajectoryModel
from .usual import Usual

__all__ = [
    "ALLIANCE_FAMILIES",
    "INSTRUMENTS",
    "MARKER_TABLE",
    "MARKER_TABLE_NUMBERS",
    "RULES_VERSION",
    "SETTING_NAMES",
    "SRS_ITEM_DIMENSIONS",
    "UNTAGGED",
    "WAI_SR_SUBSCALES",
    "Acknowledgement",
    "AllianceDimension",
    "Announcement",
    "Attendance",
    "AttendanceRecorded",
    "BandFit",
    "ClientAssessment",
    "ClientHistory",
    "ClientSummary",
    "ClinicianActions",
    "ConflictingFact",
    "DomainError",
    "DomainEvent",
    "EmittedLog",
    "EpisodeTimeline",
    "ExpectedTrajectories",
    "Fact",
    "FeedbackRecorded",
    "GoalClosed",
    "GoalOutcome",
    "GoalsAgreed",
    "Instrument",
    "InstrumentSpec",
    "IntakeBand",
    "InvalidAction",
    "InvalidFact",
    "InvalidScores",
    "InvalidThresholds",
    "ManualResolution",
    "MarkedSession",
    "Marker",
    "MarkerCode",
    "MarkerFamily",
    "NoteAnswered",
    "NoteFit",
    "NoteShared",
    "Recognition",
    "RepairTags",
    "ResolutionHow",
    "Respondent",
    "RuptureEpisode",
    "RuptureResolved",
    "RuptureSuspected",
    "Scores",
    "Session",
    "Severity",
    "Thresholds",
    "TrajectoryModel",
    "Usual",
    "adopted",
    "alerts_from_history",
    "assess_client",
    "is_history",
    "mark_session",
    "owed_events",
    "parse_instrument",
    "parse_respondent",
    "resolution_event_id",
    "rules_version",
    "rupture_episode_id",
    "severity_of",
    "srs_dimension",
    "summarize",
    "validate_scores",
    "wai_sr_subscales",
]
