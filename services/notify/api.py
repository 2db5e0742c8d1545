"""The notify service's HTTP API: each clinic's routing (admin keys) and acknowledgements.

Routing: ``GET``/``PUT /v1/routing`` (the whole clinic), ``PUT``/``DELETE /v1/routing/therapists/{id}``.
Webhook secrets (the clinic's and each destination's own) are write-only: answers say how many are set, never
what they are.
Acknowledgement: ``POST /v1/ruptures/{rupture_id}/acknowledge`` (a ``read`` or ``admin`` key), and the signed
link ``/v1/acknowledgements/{token}``: ``GET`` shows a confirmation page, ``POST`` (its button) records. Both
take the optional 3RS tags (rupture type, repair strategies); the episode's first acknowledgement keeps its own.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, HTTPException, Request, Response, status
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import Example
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from services.notify import ack_page
from services.notify.acknowledgement import AckClaim, AckLinks, Acknowledgements
from services.notify.routing import ChannelSet, ClientPageRoute, ClinicRouting, Supervisor, TherapistRoute
from services.notify.routing_store import RoutingStore
from shared.auth import ClinicPrincipal, Scope, require_scope
from shared.contracts import RepairTags
from shared.contracts.fields import OpaqueId
from shared.repair import RepairStrategy, RuptureType

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


SECRETS_SET = "How many webhook secrets of its own are stored: 0, 1, or 2 while a rotation is under way."


class TherapistRouteView(TherapistRoute):
    webhook_secrets: None = None
    webhook_secrets_set: int = Field(description=SECRETS_SET)


class SupervisorView(Supervisor):
    webhook_secrets: None = None
    webhook_secrets_set: int = Field(description=SECRETS_SET)


class ClientPageRouteView(ClientPageRoute):
    webhook_secrets: None = None
    webhook_secrets_set: int = Field(description=SECRETS_SET)


class RoutingView(ClinicRouting):
    """The stored routing as answered: every secret replaced by how many are set."""

    therapists: list[TherapistRouteView] = Field(default_factory=list)
    supervisors: list[SupervisorView] = Field(default_factory=list)
    client_page: ClientPageRouteView | None = Field(
        default=None, description=ClinicRouting.model_fields["client_page"].description
    )
    webhook_secrets: None = None
    webhook_secret: None = None
    webhook_secrets_set: int = Field(description=SECRETS_SET)
    webhook_secret_set: bool = Field(description="Whether the clinic has a webhook secret of its own.")


def _shown(route: ChannelSet | ClientPageRoute) -> dict[str, Any]:
    return {
        **route.model_dump(exclude={"webhook_secrets"}),
        "webhook_secrets_set": len(route.webhook_secrets or []),
    }


def _view(routing: ClinicRouting) -> RoutingView:
    secrets = routing.clinic_secrets
    return RoutingView(
        **routing.model_dump(
            exclude={"webhook_secret", "webhook_secrets", "therapists", "supervisors", "client_page"}
        ),
        therapists=[TherapistRouteView(**_shown(r)) for r in routing.therapists],
        supervisors=[SupervisorView(**_shown(s)) for s in routing.supervisors],
        client_page=ClientPageRouteView(**_shown(routing.client_page)) if routing.client_page else None,
        webhook_secrets_set=len(secrets),
        webhook_secret_set=bool(secrets),
    )


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" if "secret" in str(k) else _without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


async def refused_without_secrets(request: Request, error: Exception) -> Response:
    """The 422 FastAPI answers, minus every secret the refused body held: an answer never repeats one."""
    assert isinstance(error, RequestValidationError)
    errors = [
        {**e, "input": "***"} if any("secret" in str(part) for part in e["loc"]) else _without_secrets(e)
        for e in error.errors()
    ]
    return await request_validation_exception_handler(request, RequestValidationError(errors, body=None))


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


class AcknowledgeRequest(RepairTags):
    """Who saw the alert and, optionally, how they name the rupture and its repair (the 3RS terms, as the
    ``rupture.acknowledged`` contract reads them). Only the episode's first acknowledgement keeps its tags."""

    acknowledged_by: OpaqueId = Field(description="Pseudonym of whoever saw the alert (a therapist id).")


ACKNOWLEDGE_EXAMPLES: dict[str, Example] = {
    "tagged": {
        "summary": "Seen, and the rupture and its repair named",
        "value": {
            "acknowledged_by": "t-7",
            "rupture_type": "withdrawal",
            "strategies": ["invite_discussion", "acknowledge_own_part"],
        },
    },
    "untagged": {"summary": "Seen, nothing named", "value": {"acknowledged_by": "t-7"}},
}


class AcknowledgeAnswer(BaseModel):
    """The acknowledgement that stands: the episode's first, so a repeat answers the same."""

    rupture_id: str
    acknowledged_by: str = Field(description="Who acknowledged first.")
    acknowledged_at: datetime
    event_id: str = Field(description="The id of the one rupture.acknowledged event of this episode.")
    rupture_type: RuptureType | None = Field(
        description="The type of rupture the first acknowledgement named, if any: it may differ from what this "
        "request sent."
    )
    strategies: list[RepairStrategy] = Field(
        description="The repair strategies the first acknowledgement named: they may differ from what this "
        "request sent."
    )


@router.post(
    "/ruptures/{rupture_id}/acknowledge",
    responses={**AUTH_ERRORS, 404: {"description": "No alert for this rupture in the caller's clinic"}},
    summary="Record that an alert was seen; stops its escalation",
    description=(
        "Records the acknowledgement once per episode and publishes `rupture.acknowledged` (version 2) with the "
        "optional tags: `rupture_type` (withdrawal, confrontation or both) and `strategies` (each at most once). "
        "An unknown type or strategy, or a strategy given twice, is refused with 422 and nothing is recorded. "
        "The first acknowledgement of an episode (through the API, an alert's link or the client view) stands "
        "with its tags: a later one changes nothing and is answered with the first. Tags can also be given "
        "when resolving the episode in the client view."
    ),
)
async def acknowledge(
    rupture_id: OpaqueId,
    body: Annotated[AcknowledgeRequest, Body(openapi_examples=ACKNOWLEDGE_EXAMPLES)],
    principal: Annotated[ClinicPrincipal, Depends(reader_or_admin)],
    api: Api,
) -> AcknowledgeAnswer:
    tags = RepairTags(rupture_type=body.rupture_type, strategies=body.strategies)
    done = await api.acknowledgements.acknowledge(
        AckClaim(principal.clinic_id, rupture_id, body.acknowledged_by), via="api", tags=tags
    )
    if done is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no alert for this rupture")
    return AcknowledgeAnswer(
        rupture_id=done.rupture_id,
        acknowledged_by=done.acknowledged_by,
        acknowledged_at=done.acknowledged_at,
        event_id=done.event_id,
        rupture_type=done.tags.rupture_type,
        strategies=done.tags.strategies,
    )


def _page(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code)


def _claim(api: NotifyApi, token: str) -> AckClaim:
    claim = api.links.read(token)
    if claim is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this link is not valid (any more)")
    return claim


@router.get("/acknowledgements/{token}", response_class=HTMLResponse, summary="Confirmation page of a link")
async def confirm_page(token: str, api: Api) -> HTMLResponse:
    # GET never records: mail scanners and link previews follow links on their own.
    claim = _claim(api, token)
    return _page(ack_page.confirmation(claim.rupture_id))


# Read as plain text, so that a value the form never offered gets the page below rather than a JSON 422.
RuptureTypeField = Annotated[str, Form(description="withdrawal, confrontation, both; empty: not named.")]
StrategiesField = Annotated[list[str], Form(description="Repair strategies used, each at most once.")]


@router.post(
    "/acknowledgements/{token}",
    response_class=HTMLResponse,
    responses={
        422: {
            "description": "A rupture type or strategy the form does not offer: a page saying so; nothing recorded",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    },
    summary="Acknowledge through a link",
)
async def acknowledge_by_link(
    token: str,
    api: Api,
    rupture_type: RuptureTypeField = "",
    strategies: StrategiesField = [],  # noqa: B006  # FastAPI copies a form field's default
) -> HTMLResponse:
    claim = _claim(api, token)
    try:
        tags = ack_page.tags_from_form(rupture_type, strategies)
    except ack_page.BadTags as bad:
        return _page(ack_page.refused(bad.problems), status.HTTP_422_UNPROCESSABLE_CONTENT)
    done = await api.acknowledgements.acknowledge(claim, via="link", tags=tags)
    if done is None:
        return _page(ack_page.page("<p>This alert is not known (any more).</p>"), status.HTTP_404_NOT_FOUND)
    return _page(ack_page.acknowledged(done))
