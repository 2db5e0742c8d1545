"""The scoring service's HTTP API: one client's alliance, a therapist's caseload, the clinic's figures, manual
resolution, the clinic's thresholds and the expected trajectories its clients are judged against.

Scopes: every read needs ``read``; changing thresholds and resolving an episode by hand need ``admin``,
because both change what the platform concludes (and announces) for every clinician of the clinic, while
read keys are handed to dashboards. Every query filters by the caller's clinic: another clinic's client or
episode is a 404, exactly like one that does not exist, so ids of other clinics cannot even be probed.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter

from services.scoring import clinic_figures, domain
from services.scoring.audit import AuditLog
from services.scoring.clients import ClientStore
from services.scoring.clinic_settings import ClinicSettings, ClinicSettingsStore, ThresholdValues
from services.scoring.service import AlreadyResolved, ScoringService, UnknownRupture
from services.scoring.trajectory_models import TrajectoryModels
from services.scoring.trajectory_view import ClinicTrajectories, clinic_trajectories
from services.scoring.translate import tags_from
from services.scoring.views import (
    Caseload,
    CaseloadEntry,
    ClientAlliance,
    ClinicSummary,
    ResolveAnswer,
    ResolveRequest,
)
from shared.auth import ClinicPrincipal, Scope, require_scope
from shared.contracts.fields import OpaqueId
from shared.privacy.plumbing import Privacy

router = APIRouter(prefix="/v1", tags=["alliance"])
Reader = Annotated[ClinicPrincipal, Depends(require_scope(Scope.READ))]
Admin = Annotated[ClinicPrincipal, Depends(require_scope(Scope.ADMIN))]
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked API key"},
    403: {"description": "The key lacks the needed scope"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such id in the caller's clinic"}}
CASELOAD_ENTRIES = TypeAdapter(list[CaseloadEntry])
# What a caseload entry shows of the client's summary, under the same names.
CASELOAD_SUMMARY = ("latest_session_at", "latest_srs_total", "baseline", "trend", "latest_severity")


@dataclass(frozen=True)
class ScoringApi:
    """What the routes need, kept in ``app.state.scoring``."""

    clients: ClientStore
    settings: ClinicSettingsStore
    audit: AuditLog
    service: ScoringService
    active_days: int
    models: TrajectoryModels  # the fitted expected trajectories
    privacy: Privacy  # opens the words people wrote, for the views

    async def alliance(self, clinic_id: str, client_id: str) -> ClientAlliance | None:
        """The client's alliance as a reader sees it: the words people wrote opened (their data key)."""
        alliance = await self.clients.alliance(clinic_id, client_id)
        if alliance is None:
            return None
        return await self.privacy.words.open_all(clinic_id, client_id, alliance)

    async def trajectories(self, clinic_id: str) -> ClinicTrajectories:
        """The expected trajectories the clinic's clients are judged against, as the rules see them."""
        overrides = await self.settings.overrides(clinic_id)
        latest = await self.models.latest_of([clinic_id])
        return clinic_trajectories(clinic_id, latest[clinic_id], domain.Thresholds.from_mapping(overrides))


def _api(request: Request) -> ScoringApi:
    api: ScoringApi = request.app.state.scoring
    return api


Api = Annotated[ScoringApi, Depends(_api)]


@router.get(
    "/clients/{client_id}/alliance", responses={**AUTH_ERRORS, **NOT_FOUND}, summary="One client's alliance"
)
async def client_alliance(client_id: OpaqueId, principal: Reader, api: Api) -> ClientAlliance:
    alliance = await api.alliance(principal.clinic_id, client_id)
    await api.audit.record(
        principal, "GET /v1/clients/{client_id}/alliance", [client_id], found=alliance is not None
    )
    if alliance is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such client")
    return alliance


@router.get("/therapists/{therapist_id}/caseload", responses=AUTH_ERRORS, summary="A therapist's clients")
async def caseload(therapist_id: OpaqueId, principal: Reader, api: Api) -> Caseload:
    """Clients whose latest session was with this therapist, each with latest totals, trend and open episode."""
    entries = await api.clients.caseload(principal.clinic_id, therapist_id)
    await api.audit.record(
        principal, "GET /v1/therapists/{therapist_id}/caseload", [entry["client_id"] for entry in entries]
    )
    clients = CASELOAD_ENTRIES.validate_python(  # in one pass: a caseload may hold a thousand clients
        [
            {
                "client_id": entry["client_id"],
                "open_episode": entry["open_episode"],
                **{name: entry["summary"][name] for name in CASELOAD_SUMMARY},
            }
            for entry in entries
        ]
    )
    return Caseload(therapist_id=therapist_id, clients=clients)


@router.get("/clinic/summary", responses=AUTH_ERRORS, summary="Clinic-level figures")
async def clinic_summary(principal: Reader, api: Api) -> ClinicSummary:
    """Over the active clients: those whose latest session is at most ``active_days`` (90) days before now
    (a session recorded with a future time also counts). Episodes count however they closed: repaired,
    settled (calmer without a return to the client's usual: not a repair) or by hand, each apart.

    The clinic's own alert rate, beside the budget of version 2.1 (``push_alert_budget``, 0.06 push alerts
    per client-session for all clients): over the last ``alert_window_days`` (90) days up to now,
    ``push_alerts`` (announced ``rupture.suspected`` alerts, stale escalations included, of episodes not from
    imported history, whose session falls in the window) divided by ``client_sessions`` (sessions of the
    clinic's clients in the window, except those the clinic cancelled). Aggregates only: not audited as a
    client read."""
    found = await api.clients.active(principal.clinic_id, datetime.now(UTC), api.active_days)
    return clinic_figures.clinic_summary(found, api.active_days)


@router.get("/clinic/trajectories", responses=AUTH_ERRORS, summary="Expected change by intake band")
async def clinic_trajectories_in_force(principal: Reader, api: Api) -> ClinicTrajectories:
    """The expected trajectories the clinic's clients are judged against by ``not_on_track``: for each band of
    the intake ORS total, the expected change from intake ``b`` · ln(t) and its lower limit at a few sessions,
    whose curve it is (this clinic's, or the platform-wide fit over all clinics when this clinic's band has
    fewer than 30 clients with 4 ORS), how many clients it rests on, and the model's version and fit date. A
    band without a usable curve says so: only ``ors_deterioration`` applies there. The lower limits are those
    the rule judges by: the fitted 25th percentile less the clinic's ``not_on_track_margin``. Aggregates
    only."""
    return await api.trajectories(principal.clinic_id)


@router.post(
    "/ruptures/{rupture_id}/resolve",
    responses={**AUTH_ERRORS, **NOT_FOUND, 409: {"description": "The episode is already resolved"}},
    summary="Resolve a rupture episode by hand",
)
async def resolve(rupture_id: OpaqueId, body: ResolveRequest, principal: Admin, api: Api) -> ResolveAnswer:
    """Closes the open episode with the clinician's note and announces ``rupture.resolved`` (how=manual). The
    body may name the rupture (``rupture_type``) and the repair strategies used (``strategies``), in the 3RS
    terms; an unknown one is refused (422)."""
    try:
        outcome = await api.service.resolve_by_hand(
            principal.clinic_id, rupture_id, body.resolved_by, body.note, tags_from(body)
        )
    except UnknownRupture:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such rupture episode") from None
    except AlreadyResolved:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="the episode is already resolved") from None
    except domain.InvalidAction as invalid:
        raise _unprocessable(invalid) from None
    await api.audit.record(principal, "POST /v1/ruptures/{rupture_id}/resolve", [outcome.client_id])
    return ResolveAnswer(
        rupture_id=rupture_id,
        client_id=outcome.client_id,
        resolved_at=outcome.resolved_at,
        event_id=outcome.event_id,
    )


@router.get("/clinic/settings", responses=AUTH_ERRORS, summary="The clinic's thresholds in force")
async def get_settings(principal: Reader, api: Api) -> ClinicSettings:
    return await api.settings.view(principal.clinic_id)


@router.put("/clinic/settings", responses=AUTH_ERRORS, summary="Replace the clinic's threshold overrides")
async def put_settings(body: ThresholdValues, principal: Admin, api: Api) -> ClinicSettings:
    """The fields given become the clinic's overrides (the others return to their defaults). They apply from
    each client's next event on."""
    try:
        await api.settings.replace(principal.clinic_id, body.model_dump(exclude_none=True), principal.key_id)
    except domain.InvalidThresholds as invalid:
        raise _unprocessable(invalid) from None
    return await api.settings.view(principal.clinic_id)


def _unprocessable(error: domain.DomainError) -> RequestValidationError:
    # The same shape as FastAPI's own 422, so clients handle one format that names each field.
    return RequestValidationError(
        [{"loc": ("body", field), "msg": why, "type": "value_error"} for field, why in error.problems.items()]
    )
