"""The read model of one client, as stored in ``scoring_clients.alliance`` and served by the read API.

The projection is computed once per change (``projection.py``) and stored, so a read never recomputes.
The same pydantic models document the HTTP answers in the OpenAPI document.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SeverityName = Literal["none", "low", "medium", "high"]


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class MarkerView(View):
    code: str = Field(description="Marker code, e.g. below_cutoff, steep_drop.")
    family: str = Field(description="score, change, outcome, behaviour or perspective.")
    level: SeverityName = Field(description="The marker's own level.")
    value: float = Field(description="The observed value the rule looked at.")
    threshold: float = Field(description="The threshold it was compared with.")
    dimension: str | None = Field(default=None, description="Alliance dimension, for item_low.")


class RatingView(View):
    instrument: str = Field(description="srs, ors or wai_sr.")
    respondent: str = Field(description="client or therapist.")
    total: float = Field(description="Sum of the items.")
    items: dict[str, float] = Field(description="Item name to value.")


class SessionView(View):
    session_id: str
    occurred_at: datetime = Field(description="When the session was scheduled to start.")
    therapist_id: str
    attendance: str | None = Field(
        description="attended, late, no_show, late_cancel, cancelled; None if unknown."
    )
    srs_total: float | None = Field(description="The client's SRS total for the session.")
    baseline: float | None = Field(description="Mean of the client's last ≤5 earlier SRS totals.")
    severity: SeverityName = Field(description="Severity implied by this session's markers.")
    markers: list[MarkerView] = Field(description="Every marker that fired for this session.")
    ratings: list[RatingView] = Field(description="The winning rating per instrument and respondent.")


class ResolutionView(View):
    how: Literal["repaired", "manual"]
    resolved_at: datetime
    session_id: str | None = Field(description="The repairing session; None for a manual resolution.")
    sessions_to_repair: int | None = Field(description="Sessions after the opening one, up to the repair.")
    note: str | None = Field(description="The clinician's note of a manual resolution.")
    resolved_by: str | None = Field(description="Who resolved by hand.")


class AcknowledgementView(View):
    acknowledged_by: str = Field(description="Pseudonym of whoever confirmed having seen the alert.")
    acknowledged_at: datetime


class EpisodeView(View):
    rupture_id: str = Field(description="Deterministic id of the rupture episode.")
    therapist_id: str = Field(description="Therapist of the session that opened the episode.")
    opening_session_id: str
    opened_at: datetime = Field(description="Time of the opening session.")
    severity: SeverityName = Field(description="Highest severity the episode reached.")
    stale: bool = Field(description="Open too long without repair.")
    session_ids: list[str] = Field(description="Sessions whose markers joined the episode.")
    sessions_since_opening: int
    pre_episode_mean: float | None = Field(description="Mean client SRS total before the episode.")
    resolution: ResolutionView | None = Field(description="None while open.")
    acknowledgement: AcknowledgementView | None = Field(description="The earliest acknowledgement, if any.")


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


class ClientAlliance(View):
    """Everything the platform concluded about one client's alliance."""

    client_id: str
    therapist_id: str | None = Field(description="Therapist of the latest session.")
    summary: SummaryView
    open_episode: EpisodeView | None
    past_episodes: list[EpisodeView] = Field(description="Resolved episodes, oldest first.")
    sessions: list[SessionView] = Field(description="History in session order, with totals and markers.")


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


class ClinicSummary(View):
    """Clinic-level figures over the active clients."""

    active_days: int = Field(description="Active: latest session at most this many days before now.")
    active_clients: int
    clients_with_open_episode: int
    open_episode_share: float | None = Field(description="Share of active clients with an open episode.")
    repair_rate: float | None = Field(
        description="Of the active clients' closed episodes, the share repaired (not resolved by hand)."
    )
    median_sessions_to_repair: float | None
    clients_by_severity: dict[SeverityName, int] = Field(
        description="Active clients by the severity of their open episode (none without one)."
    )


class ResolveRequest(BaseModel):
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
