"""The read model of one client, as stored in ``scoring_clients.alliance`` and served by the read API.

The projection is computed once per change (``projection.py``) and stored, so a read never recomputes.
The same pydantic models document the HTTP answers in the OpenAPI document.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import RepairTags
from shared.repair import RepairStrategy, RuptureType

SeverityName = Literal["none", "low", "medium", "high"]
AlertLevel = Literal["low", "medium", "high", "stale"]
ResolutionName = Literal["repaired", "manual", "settled"]
RecognitionName = Literal["neither", "client", "therapist", "both"]


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class MarkerView(View):
    code: str = Field(description="Marker code, e.g. below_cutoff, steep_drop.")
    family: str = Field(
        description="score, change, outcome, behaviour, perspective, report (version 2) or agreement (version 2)."
    )
    level: SeverityName = Field(
        description=(
            "The marker's level for this client at this session. below_cutoff and item_low are medium while the "
            "client has no baseline yet or their baseline is at or above the cutoff, and low when the client's "
            "usual is below the cutoff (still shown, but not alerting on its own)."
        )
    )
    value: float = Field(description="The observed value the rule looked at.")
    threshold: float = Field(description="The threshold it was compared with.")
    dimension: str | None = Field(
        default=None, description="Alliance dimension, for item_low and goal_disagreement (goal)."
    )
    expected: float | None = Field(
        default=None, description="not_on_track: the change from intake its curve expects by this session."
    )
    model_version: str | None = Field(
        default=None, description="not_on_track: the version of the fitted trajectory model it was judged by."
    )


class RatingView(View):
    instrument: str = Field(description="srs, ors, wai_sr or psq.")
    respondent: str = Field(description="client or therapist.")
    total: float | None = Field(description="Sum of the items; none for a rupture report (psq).")
    items: dict[str, float] = Field(description="Item name to value.")


class SessionView(View):
    session_id: str
    occurred_at: datetime = Field(description="When the session was scheduled to start.")
    therapist_id: str
    attendance: str | None = Field(
        description="attended, late, no_show, late_cancel, cancelled; None if unknown."
    )
    counts: bool = Field(
        default=True, description="False for a session the clinic cancelled: no session count includes it."
    )
    srs_total: float | None = Field(description="The client's SRS total for the session.")
    baseline: float | None = Field(
        description=(
            "The client's usual the session was judged against: mean of the last ≤5 earlier client SRS totals "
            "outside rupture episodes (during an episode, the baseline from before it opened)."
        )
    )
    severity: SeverityName = Field(description="Severity implied by this session's markers.")
    markers: list[MarkerView] = Field(description="Every marker that fired for this session.")
    ratings: list[RatingView] = Field(description="The winning rating per instrument and respondent.")


class ResolutionView(View):
    how: ResolutionName = Field(
        description=(
            "repaired: a session came back to the client's usual with no marker; settled: the latest 2 "
            "sessions with a client SRS carried no medium or high marker, without a return to the usual (not a "
            "repair, counted apart); manual: a clinician closed it with a note."
        )
    )
    resolved_at: datetime
    session_id: str | None = Field(
        description="The repairing or settling session; None for a manual resolution."
    )
    sessions_to_repair: int | None = Field(
        description="Sessions after the opening one, up to the repair; only for a repair."
    )
    note: str | None = Field(description="The clinician's note of a manual resolution.")
    resolved_by: str | None = Field(description="Who resolved by hand.")


class AcknowledgementView(View):
    acknowledged_by: str = Field(description="Pseudonym of whoever confirmed having seen the alert.")
    acknowledged_at: datetime


class AlertView(View):
    level: AlertLevel = Field(description="The level announced; stale: the escalation of a stale episode.")
    session_id: str = Field(description="The session the alert was about.")
    session_at: datetime = Field(description="That session's time: what the clinic's alert rate is dated by.")


class EpisodeView(View):
    rupture_id: str = Field(description="Deterministic id of the rupture episode.")
    therapist_id: str = Field(description="Therapist of the session that opened the episode.")
    opening_session_id: str
    opened_at: datetime = Field(description="Time of the opening session.")
    severity: SeverityName = Field(description="Highest severity the episode reached.")
    stale: bool = Field(
        description=(
            "Still open after 3 more sessions (the clinic's stale_after_sessions) while its latest session still "
            "carried a medium or high marker: it still hurts. Escalated to high and to the supervisor."
        )
    )
    session_ids: list[str] = Field(description="Sessions whose markers joined the episode.")
    sessions_since_opening: int
    pre_episode_mean: float | None = Field(description="Mean client SRS total before the episode.")
    resolution: ResolutionView | None = Field(description="None while open.")
    acknowledgement: AcknowledgementView | None = Field(description="The earliest acknowledgement, if any.")
    recognised_by: RecognitionName = Field(
        default="neither",
        description=(
            "Who recognised the rupture: client (the client reported tension), therapist (the therapist "
            "reported tension in one of its sessions, or acknowledged the alert), both, or neither yet."
        ),
    )
    from_history: bool = Field(
        default=False,
        description=(
            "From imported history: its first alert was about a session older than the clinic's push horizon "
            "(push_horizon_days) when announced. Recorded and shown, but not e-mailed or sent by webhook."
        ),
    )
    alerts: list[AlertView] = Field(
        default_factory=list,
        description=(
            "The rupture.suspected alerts announced for the episode, in rising level, dated by the session each "
            "was about (the episode's opening session when the current history no longer holds that one)."
        ),
    )
    rupture_type: RuptureType | None = Field(
        default=None,
        description=(
            "How the clinicians named the rupture (3RS): withdrawal, confrontation or both; the manual "
            "resolution's word over the acknowledgement's. None while nobody named it."
        ),
    )
    strategies: list[RepairStrategy] = Field(
        default_factory=list,
        description="The repair strategies the clinicians named, acknowledging or resolving it (3RS).",
    )


class SummaryView(View):
    session_count: int
    client_srs_count: int = Field(description="Sessions with a client SRS.")
    latest_session_id: str | None
    latest_session_at: datetime | None
    latest_srs_total: float | None
    latest_severity: SeverityName = Field(description="Severity of the latest session's markers.")
    baseline: float | None = Field(description="Mean of the last ≤5 client SRS totals, latest included.")
    trend: float | None = Field(
        description="Slope of those totals, points per session (negative: declining)."
    )
    episode_count: int
    repaired_count: int
    resolved_by_hand_count: int
    settled_count: int = Field(default=0, description="Episodes that settled: not counted as repaired.")


class NoteView(View):
    """A note the therapist shared with the client, and the client's latest answer to it. Sensitive text: shown
    to the clinic's readers and the client, never logged or sent."""

    note_id: str
    session_id: str
    therapist_id: str
    shared_at: datetime
    text: str
    fit: Literal["yes", "partly", "no"] | None = Field(
        default=None, description="The client's answer: do the next steps fit? None while unanswered."
    )
    answered_at: datetime | None = None
    comment: str | None = Field(default=None, description="The client's words with the answer, if any.")


GoalOutcomeName = Literal["met", "dropped", "replaced"]


class GoalRatingView(View):
    """One session's ratings of a goal (gbo, 0 "not at all met" to 10 "fully met"), client and therapist side by
    side; either may be missing."""

    session_id: str
    occurred_at: datetime = Field(description="When the session was scheduled to start.")
    client: float | None = Field(description="The client's rating of the goal in this session.")
    therapist: float | None = Field(description="The therapist's rating of the goal in this session.")


class GoalView(View):
    """A goal the client and therapist agreed (Goal-Based Outcomes), with its ratings. The text is sensitive
    like a note's: shown to the clinic's readers and the client, never logged or sent."""

    goal_id: str
    text: str = Field(description="The goal in the client's words, as last agreed.")
    agreed_session_id: str = Field(description="The session in which the goal was first agreed.")
    agreed_at: datetime = Field(description="When it was first agreed.")
    slot: int | None = Field(
        description="While active: k of the gbo item goal_k that rates it (1–3); None once it has ended."
    )
    status: Literal["active", "closed"]
    outcome: GoalOutcomeName | None = Field(
        default=None,
        description=(
            "How it ended: met, dropped or replaced (goal.closed); replaced also when a later agreement of goals "
            "left it out without closing it. None while active."
        ),
    )
    closed_session_id: str | None = Field(default=None, description="The session in which it ended.")
    closed_at: datetime | None = Field(default=None, description="When it ended.")
    ratings: list[GoalRatingView] = Field(
        default_factory=list, description="The sessions in which it was rated, in session order."
    )


class ClientAlliance(View):
    """Everything the platform concluded about one client's alliance."""

    client_id: str
    therapist_id: str | None = Field(description="Therapist of the latest session.")
    summary: SummaryView
    open_episode: EpisodeView | None
    past_episodes: list[EpisodeView] = Field(description="Resolved episodes, oldest first.")
    sessions: list[SessionView] = Field(description="History in session order, with totals and markers.")
    notes: list[NoteView] = Field(
        default_factory=list,
        description="The therapist's shared notes with the client's answers, newest first.",
    )
    goals: list[GoalView] = Field(
        default_factory=list,
        description=(
            "The goals agreed with the client: the active ones in their gbo order (goal_1 first), then the ended "
            "ones, the latest ended first."
        ),
    )


class CaseloadEntry(View):
    client_id: str
    latest_session_at: datetime | None
    latest_srs_total: float | None
    baseline: float | None
    trend: float | None = Field(description="Points per session over the last ≤5 client SRS totals.")
    latest_severity: SeverityName
    open_episode: EpisodeView | None


class Caseload(View):
    therapist_id: str
    clients: list[CaseloadEntry] = Field(description="Clients whose latest session was with this therapist.")


class RepairFigures(View):
    """The episodes named with one tag (a rupture type or a strategy), and how the closed ones ended."""

    tag: str = Field(description="The rupture type or the strategy.")
    words: str = Field(description="The tag in plain words.")
    episodes: int = Field(description="Episodes named with it, open or closed.")
    closed_episodes: int = Field(description="Of those, the closed ones: what the figures rest on.")
    repaired_count: int
    repair_rate: float | None = Field(
        description="repaired_count / closed_episodes; None when too few to compare."
    )
    median_sessions_to_repair: float | None = Field(description="None when too few to compare.")
    comparable: bool = Field(
        description="At least 5 closed episodes: fewer are shown as counts only, 'too few to compare'."
    )


class ClinicSummary(View):
    """Clinic-level figures over the active clients."""

    active_days: int = Field(description="Active: latest session at most this many days before now.")
    active_clients: int
    clients_with_open_episode: int
    open_episode_share: float | None = Field(description="Share of active clients with an open episode.")
    closed_episodes: int = Field(description="The active clients' closed episodes, however they closed.")
    repaired_count: int = Field(description="Closed episodes that were repaired.")
    settled_count: int = Field(
        description="Closed episodes that settled: calmer, but without a return to the client's usual."
    )
    resolved_by_hand_count: int = Field(description="Closed episodes a clinician resolved by hand.")
    repair_rate: float | None = Field(
        description="Of the active clients' closed episodes, the share repaired (settled and by hand excluded)."
    )
    settle_rate: float | None = Field(description="Of the same closed episodes, the share that settled.")
    median_sessions_to_repair: float | None
    episodes: int = Field(default=0, description="The active clients' episodes, open or closed.")
    recognised_by_both_count: int = Field(
        default=0, description="Of those, the episodes both the client and the therapist recognised."
    )
    recognised_by_both_share: float | None = Field(
        default=None,
        description=(
            "recognised_by_both_count / episodes: the share of ruptures both sides named (a client's report, and "
            "the therapist's report or acknowledgement); None without episodes."
        ),
    )
    repair_by_rupture_type: list["RepairFigures"] = Field(
        default_factory=list,
        description="Repair rate and median sessions to repair of the closed episodes, per rupture type named.",
    )
    repair_by_strategy: list["RepairFigures"] = Field(
        default_factory=list,
        description="The same per repair strategy named (an episode counts under each strategy it names).",
    )
    clients_by_severity: dict[SeverityName, int] = Field(
        description="Active clients by the severity of their open episode (none without one)."
    )
    alert_window_days: int = Field(description="The alert rate looks back this many days from now.")
    client_sessions: int = Field(
        description=(
            "Sessions that count (not cancelled by the clinic) of the clinic's clients, held in the last "
            "alert_window_days days."
        )
    )
    push_alerts: int = Field(
        description=(
            "Announced rupture.suspected alerts not from imported history (of episodes whose first alert was "
            "news, stale escalations included), whose session falls in the same window."
        )
    )
    alerts_from_history: int = Field(
        description="Announced alerts of episodes from imported history in the window: recorded, not pushed."
    )
    push_alerts_per_client_session: float | None = Field(
        description="push_alerts / client_sessions; None without sessions in the window."
    )
    push_alert_budget: float = Field(
        description="The budget: push alerts per client-session, all clients (DOMAIN.md, version 2.1)."
    )
    within_budget: bool | None = Field(description="The rate is at or below the budget; None without a rate.")


class ResolveRequest(RepairTags):
    """A manual resolution, which may name the rupture and its repair (``rupture_type``, ``strategies``)."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000, description="Why the episode is considered resolved.")
    resolved_by: str = Field(
        pattern=r"^[A-Za-z0-9._-]{1,64}$", description="Opaque id of the clinician who resolves it."
    )


class ResolveAnswer(View):
    rupture_id: str
    client_id: str
    resolved_at: datetime
    event_id: str = Field(description="Id of the rupture.resolved event staged for Kafka.")
