"""The notify service's HTTP API: each clinic's routing (admin keys) and acknowledgements.

Routing: ``GET``/``PUT /v1/routing`` (the whole clinic), ``PUT``/``DELETE /v1/routing/therapists/{id}``.
The webhook secret is write-only: answers say whether one is set, never what it is.
Acknowledgement: ``POST /v1/ruptures/{rupture_id}/acknowledge`` (a ``read`` or ``admin`` key), and the signed
link ``/v1/acknowledgements/{token}``: ``GET`` shows a confirmation page, ``POST`` (its button) records.
"""

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict

from services.notify.acknowledgement import AckClaim, AckLinks, Acknowledgements
from services.notify.routing import ChannelSet, ClinicRouting, TherapistRoute
from services.notify.routing_store import RoutingStore
from shared.auth import ClinicPrincipal, Scope, require_scope
from shared.contracts.fields import OpaqueId

router = APIRouter(prefix="/v1", tags=["notify"])
Admin = Annotated[ClinicPrincipal, Depends(require_scope(Scope.ADMIN))]
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked API key"},
    403: {"description": "The key lacks the needed scope"},
}


@dataclass(frozen=True)
class NotifyApi:
    """What the routes need, kept in ``app.state.notify``."""

    routing: RoutingStore
    acknowledgements: Acknowledgements
    links: AckLinks


def _api(request: Request) -> NotifyApi:
    api: NotifyApi = request.app.state.notify
    return api


Api = Annotated[NotifyApi, Depends(_api)]


reader_or_admin = require_scope(Scope.READ, Scope.ADMIN)


class RoutingView(ClinicRouting):
    """The stored routing as answered: the secret replaced by whether one is set."""

    webhook_secret: None = None
    webhook_secret_set: bool


def _view(routing: ClinicRouting) -> RoutingView:
    shown = routing.model_dump(exclude={"webhook_secret"})
    return RoutingView(**shown, webhook_secret_set=routing.webhook_secret is not None)


@router.get("/routing", responses=AUTH_ERRORS, summary="The clinic's alert routing")
async def get_routing(principal: Admin, api: Api) -> RoutingView:
    return _view(await api.routing.get(principal.clinic_id) or ClinicRouting())


@router.put("/routing", responses=AUTH_ERRORS, summary="Replace the clinic's alert routing")
async def put_routing(routing: ClinicRouting, principal: Admin, api: Api) -> RoutingView:
    await api.routing.put(principal.clinic_id, routing)
    return await get_routing(principal, api)


class TherapistChannels(ChannelSet):
    """The body: validated like the stored route, so a bad address or URL is a 422, not a 500."""


@router.put(
    "/routing/therapists/{therapist_id}", responses=AUTH_ERRORS, summary="Set one therapist's channels"
)
async def put_therapist(
    therapist_id: OpaqueId, channels: TherapistChannels, principal: Admin, api: Api
) -> RoutingView:
    route = TherapistRoute.model_validate({**channels.model_dump(), "therapist_id": therapist_id})
    await api.routing.put_therapist(principal.clinic_id, route)
    return await get_routing(principal, api)


@router.delete(
    "/routing/therapists/{therapist_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH_ERRORS, 404: {"description": "No routing for this therapist"}},
    summary="Remove one therapist's channels (alerts then go to supervisors)",
)
async def delete_therapist(therapist_id: OpaqueId, principal: Admin, api: Api) -> None:
    if not await api.routing.remove_therapist(principal.clinic_id, therapist_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no routing for this therapist")


class AcknowledgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    acknowledged_by: OpaqueId


class AcknowledgeAnswer(BaseModel):
    rupture_id: str
    acknowledged_by: str
    acknowledged_at: datetime
    event_id: str


@router.post(
    "/ruptures/{rupture_id}/acknowledge",
    responses={**AUTH_ERRORS, 404: {"description": "No alert for this rupture in the caller's clinic"}},
    summary="Record that an alert was seen; stops its escalation",
)
async def acknowledge(
    rupture_id: OpaqueId,
    body: AcknowledgeRequest,
    principal: Annotated[ClinicPrincipal, Depends(reader_or_admin)],
    api: Api,
) -> AcknowledgeAnswer:
    done = await api.acknowledgements.acknowledge(
        AckClaim(principal.clinic_id, rupture_id, body.acknowledged_by), via="api"
    )
    if done is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no alert for this rupture")
    return AcknowledgeAnswer(**done.__dict__)


PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Alliance alert</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 3em auto;">{body}</body></html>"""


def _page(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(body=body), status_code=status_code)


def _claim(api: NotifyApi, token: str) -> AckClaim:
    claim = api.links.read(token)
    if claim is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid (any more)")
    return claim


@router.get("/acknowledgements/{token}", response_class=HTMLResponse, summary="Confirmation page of a link")
async def confirm_page(token: str, api: Api) -> HTMLResponse:
    # GET never records: mail scanners and link previews follow links on their own.
    claim = _claim(api, token)
    return _page(
        f"<h2>Rupture alert {escape(claim.rupture_id)}</h2>"
        "<p>Confirm that you have seen this alert. This stops its escalation to your supervisor.</p>"
        '<form method="post"><button type="submit">I have seen this alert</button></form>'
    )


@router.post("/acknowledgements/{token}", response_class=HTMLResponse, summary="Acknowledge through a link")
async def acknowledge_by_link(token: str, api: Api) -> HTMLResponse:
    done = await api.acknowledgements.acknowledge(_claim(api, token), via="link")
    if done is None:
        return _page("<p>This alert is not known (any more).</p>", status.HTTP_404_NOT_FOUND)
    return _page(f"<h2>Thank you</h2><p>Acknowledged at {done.acknowledged_at:%Y-%m-%d %H:%M} UTC.</p>")
