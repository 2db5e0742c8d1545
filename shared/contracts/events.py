"""Version 1 of every event's ``data``, as DOMAIN.md defines the wire format.

A published version is never edited: a change is a new model (``...V2``) plus an upcaster in ``registry``.
"""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.contracts.envelope import is_stored
from shared.contracts.fields import OpaqueId, Timestamp, Words
from shared.instruments import Instrument, InvalidScores, Respondent, validate_scores
from shared.repair import RepairStrategy, RuptureType


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Attendance(StrEnum):
    ATTENDED = "attended"
    LATE = "late"
    NO_SHOW = "no_show"
    LATE_CANCEL = "late_cancel"
    CANCELLED = "cancelled"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class SessionCompletedV1(Contract):
    """A session record from the clinic's EHR or scheduling system."""

    session_id: OpaqueId = Field(description="The clinic's id of the session.")
    therapist_id: OpaqueId = Field(description="Pseudonym of the therapist.")
    client_id: OpaqueId = Field(description="Pseudonym of the client.")
    occurred_at: Timestamp = Field(description="When the session was scheduled to start.")
    attendance: Attendance = Field(description="Whether and how the client attended.")
    scheduled_minutes: int = Field(ge=1, le=600, description="Planned length in minutes.")
    attended_minutes: int | None = Field(
        default=None, ge=0, le=600, description="Minutes actually attended, when known."
    )


class FeedbackSubmittedV1(Contract):
    """One completed rating instrument for one session, by the client or by the therapist."""

    session_id: OpaqueId = Field(description="The session the rating is about.")
    therapist_id: OpaqueId = Field(description="Pseudonym of the therapist.")
    client_id: OpaqueId = Field(description="Pseudonym of the client.")
    session_at: Timestamp = Field(
        description="The session's occurred_at, so feedback can be ordered before the session record arrives."
    )
    instrument: Instrument = Field(
        description="srs, ors, wai_sr, or (version 2) psq, a rupture report, or gbo, goal ratings."
    )
    respondent: Respondent = Field(
        description="Who rated: the client, or the therapist about the same session."
    )
    items: dict[str, Annotated[float, Field(strict=True, allow_inf_nan=False)]] = Field(
        description="Item name to value; exactly the instrument's items (see DOMAIN.md).",
        examples=[{"relationship": 9.1, "goals": 8.4, "approach": 8.8, "overall": 8.9}],
    )
    comment: Annotated[str, Field(max_length=2000)] | None = Field(
        default=None, description="Optional free text of the client. Sensitive: stored, never logged or sent."
    )
    submitted_at: Timestamp = Field(description="When the rating was given; set by the server when absent.")

    @field_validator("items")
    @classmethod
    def _items_fit_instrument(cls, items: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        instrument = info.data.get("instrument")
        if instrument is not None and not is_stored(info):
            try:
                validate_scores(instrument, items)
            except InvalidScores as invalid:
                raise ValueError(
                    "; ".join(f"{field}: {why}" for field, why in invalid.problems.items())
                ) from None
        return items


class NoteSharedV1(Contract):
    """The therapist shares a short note with the client after a session: what they worked on and the next
    steps (DOMAIN.md version 2). The text is sensitive, like a comment: stored, never logged or sent."""

    note_id: OpaqueId = Field(
        description="The note's id, unique in the clinic; the client's answer names it."
    )
    session_id: OpaqueId = Field(description="The session the note is about.")
    therapist_id: OpaqueId = Field(description="Pseudonym of the therapist who wrote it.")
    client_id: OpaqueId = Field(description="Pseudonym of the client it is for.")
    session_at: Timestamp = Field(description="The session's occurred_at.")
    text: Annotated[str, Field(min_length=1, max_length=1000)] = Field(
        description="What you worked on and what comes next, in words for the client (at most 1,000 characters)."
    )
    shared_at: Timestamp = Field(description="When it was shared; set by the server when absent.")


class NoteFit(StrEnum):
    YES = "yes"
    PARTLY = "partly"
    NO = "no"


class NoteAnsweredV1(Contract):
    """The client's answer to a shared note: do the next steps fit what they want from therapy?"""

    note_id: OpaqueId = Field(description="The note answered.")
    session_id: OpaqueId = Field(description="The note's session.")
    therapist_id: OpaqueId = Field(description="The note's therapist.")
    client_id: OpaqueId = Field(description="Pseudonym of the client who answered.")
    session_at: Timestamp = Field(description="The note's session's occurred_at.")
    fit: NoteFit = Field(description="yes, partly or no: whether the next steps fit what the client wants.")
    comment: Annotated[str, Field(max_length=2000)] | None = Field(
        default=None, description="Optional words of the client. Sensitive: stored, never logged or sent."
    )
    answered_at: Timestamp = Field(description="When the client answered; set by the server when absent.")


class Goal(Contract):
    """One goal as the client put it (Goal-Based Outcomes)."""

    goal_id: OpaqueId = Field(
        description="The goal's id, unique for the client; ratings and closings name it."
    )
    text: Annotated[str, Field(min_length=1, max_length=300)] = Field(
        description="The goal in the client's words (at most 300 characters). Sensitive: stored, never logged or sent."
    )


class GoalsAgreedV1(Contract):
    """The client and therapist set or revise the client's active goals (DOMAIN.md version 2, "Goals agreed
    together"): up to 3, in order; ``gbo`` item ``goal_k`` rates the k-th. A revision replaces the list."""

    client_id: OpaqueId = Field(description="Pseudonym of the client whose goals they are.")
    therapist_id: OpaqueId = Field(description="Pseudonym of the therapist who agreed them with the client.")
    session_id: OpaqueId = Field(description="The session in which they were agreed.")
    session_at: Timestamp = Field(description="That session's occurred_at.")
    goals: Annotated[list[Goal], Field(min_length=1, max_length=3)] = Field(
        description="The active goals from this session on, in order: goal_1, goal_2, goal_3 of a gbo rating."
    )
    agreed_at: Timestamp = Field(description="When they were agreed; set by the server when absent.")

    @field_validator("goals")
    @classmethod
    def _distinct_ids(cls, goals: list[Goal]) -> list[Goal]:
        ids = [goal.goal_id for goal in goals]
        if len(set(ids)) != len(ids):
            raise ValueError("each goal_id may appear once")
        return goals


class GoalOutcome(StrEnum):
    MET = "met"
    DROPPED = "dropped"
    REPLACED = "replaced"


class GoalClosedV1(Contract):
    """One active goal ends: met, dropped or replaced. Its slot stays empty until goals are agreed again."""

    client_id: OpaqueId = Field(description="Pseudonym of the client.")
    therapist_id: OpaqueId = Field(description="Pseudonym of the therapist.")
    session_id: OpaqueId = Field(
        description="The session in which it ended; ratings of that session still count."
    )
    session_at: Timestamp = Field(description="That session's occurred_at.")
    goal_id: OpaqueId = Field(description="The goal that ends.")
    outcome: GoalOutcome = Field(description="met, dropped or replaced.")
    closed_at: Timestamp = Field(description="When it was closed; set by the server when absent.")


class FeedbackSubmittedV2(FeedbackSubmittedV1):
    """v2 seals the client's comment (docs/privacy.md); everything else as in v1."""

    comment: Words | None = Field(default=None, description="The client's optional comment, sealed.")


class NoteSharedV2(NoteSharedV1):
    """v2 seals the note's text."""

    text: Words = Field(description="What you worked on and what comes next, sealed.")


class NoteAnsweredV2(NoteAnsweredV1):
    """v2 seals the client's comment."""

    comment: Words | None = Field(default=None, description="The client's optional words, sealed.")


class SealedGoal(Contract):
    """One goal, its words sealed."""

    goal_id: OpaqueId = Field(
        description="The goal's id, unique for the client; ratings and closings name it."
    )
    text: Words = Field(description="The goal in the client's words, sealed.")


class GoalsAgreedV2(GoalsAgreedV1):
    """v2 seals the goals' words."""

    goals: Annotated[list[SealedGoal], Field(min_length=1, max_length=3)] = Field(  # type: ignore[assignment]
        description="The active goals from this session on, in order: goal_1, goal_2, goal_3 of a gbo rating."
    )


class MarkerV1(Contract):
    """One rupture marker that fired for a session."""

    code: str = Field(description="Marker code, e.g. below_cutoff, steep_drop.")
    family: str = Field(description="score, change, outcome, behaviour, perspective, report or agreement.")
    level: Severity = Field(description="The marker's own level.")
    value: float | None = Field(default=None, description="The observed value the rule looked at.")
    threshold: float | None = Field(default=None, description="The threshold it was compared with.")
    dimension: str | None = Field(default=None, description="Alliance dimension involved, when one is.")


class RuptureSuspectedV1(Contract):
    """A rupture episode opened, or its severity rose."""

    rupture_id: OpaqueId = Field(description="Deterministic id of the rupture episode.")
    therapist_id: OpaqueId
    client_id: OpaqueId
    session_id: OpaqueId = Field(description="The session whose markers raised the episode to this level.")
    session_at: Timestamp
    severity: Severity
    previous_severity: Severity | None = Field(default=None, description="None when the episode just opened.")
    markers: list[MarkerV1] = Field(description="Every marker of the session, with values and thresholds.")
    srs_total: float | None = Field(default=None, description="The client's SRS total for the session.")
    baseline: float | None = Field(default=None, description="The client's usual SRS total before it.")
    stale: bool = Field(
        default=False, description="True when the episode stayed open too long: tell a supervisor."
    )


class RuptureSuspectedV2(RuptureSuspectedV1):
    """V1 plus whether the alert is about history rather than news, so notify can record it without pushing."""

    from_history: bool = Field(
        default=False,
        description=(
            "True when the alert's session was older than the clinic's push horizon (push_horizon_days) when "
            "the episode was first announced: an imported history or a late backfill. Such an alert is "
            "recorded, shown and published like any other, but sends no e-mail, no webhook and no escalation."
        ),
    )


class RuptureSuspectedV3(RuptureSuspectedV2):
    """V2 plus who had recognised the rupture by the alert's session (version 2's rupture reports)."""

    recognised_by: Literal["neither", "client", "therapist", "both"] = Field(
        default="neither",
        description=(
            "client: the client reported tension (a rupture report, psq); therapist: the therapist reported "
            "tension in one of the episode's sessions; both; neither: only the scores say so yet."
        ),
    )


class MarkerV2(MarkerV1):
    """V1 plus what an expected-trajectory marker (``not_on_track``) was judged against, so the alert explains
    itself: the change from intake the clinic's model expects by this session, and the model's version. For
    ``not_on_track``, ``value`` is the observed change from intake and ``threshold`` the lower limit."""

    expected: float | None = Field(
        default=None, description="not_on_track: the change from intake expected by this session."
    )
    model_version: str | None = Field(
        default=None, description="not_on_track: the version of the fitted trajectory model it was judged by."
    )


class RuptureSuspectedV4(RuptureSuspectedV3):
    """V3 whose markers may explain an expected-trajectory judgement (``MarkerV2``)."""

    # Narrows v3's list[MarkerV1]: every MarkerV2 is a MarkerV1, and pydantic validates the field as declared here.
    markers: list[MarkerV2] = Field(  # type: ignore[assignment]
        description="Every marker of the session, with values and thresholds."
    )


class RuptureResolvedV1(Contract):
    """A rupture episode was repaired, or resolved by hand."""

    rupture_id: OpaqueId
    therapist_id: OpaqueId
    client_id: OpaqueId
    how: Literal["repaired", "manual"]
    sessions_to_repair: int | None = Field(default=None, ge=0)
    resolved_at: Timestamp
    note: Annotated[str, Field(max_length=2000)] | None = Field(
        default=None, description="The clinician's note for a manual resolution."
    )


class RuptureResolvedV2(RuptureResolvedV1):
    """V1 plus who resolved by hand, so a manual resolution can be replayed from Kafka alone."""

    resolved_by: OpaqueId | None = Field(
        default=None, description="Pseudonym of the clinician who resolved by hand; None when repaired."
    )


class RuptureResolvedV3(Contract):
    """V2 with a third way to close: ``settled``, an episode whose latest sessions carry no medium or high
    marker although the client's usual score is not back. Settled is not repaired: shown and counted apart."""

    rupture_id: OpaqueId
    therapist_id: OpaqueId
    client_id: OpaqueId
    how: Literal["repaired", "manual", "settled"] = Field(
        description=(
            "repaired: a session came back to the client's usual; manual: a clinician closed it with a note; "
            "settled: its latest 2 sessions with a client SRS carry no medium or high marker."
        )
    )
    sessions_to_repair: int | None = Field(default=None, ge=0)
    resolved_at: Timestamp
    note: Annotated[str, Field(max_length=2000)] | None = Field(
        default=None, description="The clinician's note for a manual resolution."
    )
    resolved_by: OpaqueId | None = Field(
        default=None, description="Pseudonym of the clinician who resolved by hand; None otherwise."
    )


class RuptureAcknowledgedV1(Contract):
    """A therapist confirmed having seen a rupture alert."""

    rupture_id: OpaqueId
    therapist_id: OpaqueId
    client_id: OpaqueId
    acknowledged_by: OpaqueId = Field(description="Pseudonym of whoever acknowledged.")
    acknowledged_at: Timestamp
    via: Literal["link", "api"]


class RepairTags(Contract):
    """How the clinician named the rupture and its repair (DOMAIN.md version 2, the 3RS terms); optional."""

    rupture_type: RuptureType | None = Field(
        default=None, description="withdrawal (moving away), confrontation (moving against), or both."
    )
    strategies: list[RepairStrategy] = Field(
        default_factory=list,
        max_length=len(RepairStrategy),
        description="Repair strategies used, any of them.",
    )

    @field_validator("strategies")
    @classmethod
    def _each_once(cls, strategies: list[RepairStrategy]) -> list[RepairStrategy]:
        if len(set(strategies)) != len(strategies):
            raise ValueError("each strategy at most once")
        return strategies


class RuptureResolvedV4(RuptureResolvedV3, RepairTags):
    """V3 with the clinician's tags of the rupture and its repair (a manual resolution may carry them)."""


class RuptureResolvedV5(RuptureResolvedV4):
    """v5 seals the clinician's note."""

    note: Words | None = Field(
        default=None, description="The clinician's note for a manual resolution, sealed."
    )


class RuptureAcknowledgedV2(RepairTags):
    """V1 with the therapist's tags of the rupture and its repair, given when acknowledging (optional), and the
    client view's button named as such."""

    rupture_id: OpaqueId
    therapist_id: OpaqueId
    client_id: OpaqueId
    acknowledged_by: OpaqueId = Field(description="Pseudonym of whoever acknowledged.")
    acknowledged_at: Timestamp
    via: Literal["link", "api", "view"] = Field(
        description="The alert's link, the API, or the button of the client view."
    )


class ClientErasedV1(Contract):
    """Every trace of a client is being erased (docs/privacy.md): each service purges what it holds, and drops
    the client's events that arrive later or come back in a replay. Record key ``clinic_id:client_id`` on the
    compacted ``client.erased``; the reason given stays in scoring's erasure record."""

    client_id: OpaqueId = Field(description="Pseudonym of the erased client.")
    erased_at: Timestamp = Field(description="When the erasure was decided.")
    by: str = Field(
        max_length=64,
        description="Who erased: `key:<key id>` (the admin API), `operator` (the CLI) or `retention` (the job).",
    )


class NotificationSentV1(Contract):
    """An alert reached one recipient's channel (audit). Pseudonymous ids only: no address, no comment."""

    delivery_id: str = Field(description="Stable id of the delivery, the same the receiver saw.")
    rupture_id: OpaqueId
    therapist_id: OpaqueId
    client_id: OpaqueId
    severity: Severity = Field(description="The episode's severity the alert was about.")
    reason: Literal["alert", "escalation", "stale"] = Field(
        description="A new alert, an unacknowledged alert escalated, or a stale episode."
    )
    channel: Literal["email", "webhook"]
    recipient_kind: Literal["therapist", "supervisor"]
    attempts: int = Field(ge=1, description="Attempts it took, this one included.")
    sent_at: Timestamp


class NotificationFailedV1(Contract):
    """An alert could not be delivered after every attempt (audit). Pseudonymous ids only."""

    delivery_id: str = Field(description="Stable id of the delivery.")
    rupture_id: OpaqueId
    therapist_id: OpaqueId
    client_id: OpaqueId
    severity: Severity
    reason: Literal["alert", "escalation", "stale"]
    channel: Literal["email", "webhook"]
    recipient_kind: Literal["therapist", "supervisor"]
    attempts: int = Field(ge=1, description="Attempts made before giving up.")
    error: Annotated[str, Field(max_length=300)] = Field(description="The last failure, in short.")
    failed_at: Timestamp


class ClinicKeyV1(Contract):
    """The latest state of one clinic API key. Keyed by ``key_hash`` on a compacted topic."""

    key_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the key, hex; the key itself is never sent."
    )
    clinic_id: OpaqueId = Field(description="The one clinic the key belongs to.")
    scopes: list[Literal["ingest", "read", "admin"]] = Field(
        min_length=1, description="What the key may do: ingest events, read data, administer the clinic."
    )
    revoked: bool = Field(default=False, description="True once revoked; a revoked key never works again.")
    changed_at: Timestamp


class BandCurveV1(Contract):
    """One intake band's expected trajectory: change from intake = ``b`` · ln(t), lower limit ``lower_offset``
    below it (the residuals' 25th percentile), and what it rests on."""

    band: Literal["<10", "10-14.9", "15-19.9", "20-24.9", "25+"] = Field(
        description="The band of the client's first ORS total."
    )
    b: float = Field(description="Expected change from intake is b · ln(t) at the t-th session with an ORS.")
    lower_offset: float = Field(description="The lower limit lies this far from the curve (negative).")
    clients: int = Field(ge=0, description="Clients with at least 4 ORS behind the curve.")
    observations: int = Field(ge=0, description="(client, session) changes from intake the fit used.")


class TrajectoriesFittedV1(Contract):
    """A clinic's expected trajectories (or the platform-wide ones) were fitted (DOMAIN.md version 2, "Not on
    track"). Only usable bands (at least 30 clients with 4 ORS or more) are listed; carries no client data."""

    scope: Literal["clinic", "platform"] = Field(
        description="clinic: fitted on this clinic's clients; platform: on every clinic's (subject 'platform')."
    )
    model_version: str = Field(description="The model's version; every not_on_track marker names it.")
    fitted_at: Timestamp
    clients: int = Field(ge=0, description="Clients with at least one ORS that the fit looked at.")
    bands: list[BandCurveV1] = Field(description="The usable bands; empty when none has enough clients.")


class AllianceUpdatedV1(Contract):
    """A client's alliance at a glance, after each change to it. Carries no comment text."""

    client_id: OpaqueId
    therapist_id: OpaqueId = Field(description="Therapist of the client's latest session.")
    caused_by: str = Field(description="Id of the event whose application produced this state.")
    session_count: int = Field(ge=0, description="Sessions known for the client.")
    latest_session_id: OpaqueId | None = Field(
        default=None, description="The latest session, in session order."
    )
    latest_session_at: Timestamp | None = None
    latest_srs_total: float | None = Field(default=None, description="The latest client SRS total.")
    baseline: float | None = Field(default=None, description="Mean of the last ≤5 client SRS totals.")
    trend: float | None = Field(
        default=None, description="Slope of those totals in points per session; negative = declining."
    )
    latest_severity: Literal["none", "low", "medium", "high"] = Field(
        description="Severity of the latest session's markers."
    )
    open_rupture_id: OpaqueId | None = Field(default=None, description="The open rupture episode, if any.")
    open_rupture_severity: Severity | None = None
