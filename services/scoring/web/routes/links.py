"""Signed view links: issued through the JSON API for one therapist, opened in a browser."""

from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.scoring.web.access import ViewLink, ViewSession
from services.scoring.web.routes.pages import NotFound, ViewsDep, render, set_session
from shared.auth import ClinicPrincipal, Scope, require_scope
from shared.contracts.fields import OpaqueId

router = APIRouter()
link_router = APIRouter(prefix="/v1", tags=["views"])


class ViewLinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    view: Literal["client", "caseload"] = Field(description="One client's view, or a therapist's caseload.")
    therapist_id: OpaqueId = Field(description="The therapist the link is for (and whose caseload it opens).")
    client_id: OpaqueId | None = Field(default=None, description="The client, for a client view.")

    @model_validator(mode="after")
    def _client_for_client_view(self) -> "ViewLinkRequest":
        if (self.view == "client") != (self.client_id is not None):
            raise ValueError("client_id is required for a client view, and only for it")
        return self


class ViewLinkAnswer(BaseModel):
    url: str = Field(description="Open in a browser; it starts a session limited to this view.")
    expires_at: datetime


reader_or_admin = require_scope(Scope.READ, Scope.ADMIN)


@link_router.post(
    "/view-links",
    responses={
        401: {"description": "Missing, unknown or revoked API key"},
        403: {"description": "The key lacks the 'read' and 'admin' scopes"},
        404: {"description": "No such client in the caller's clinic"},
    },
    summary="Issue a signed, expiring link to a clinician view",
)
async def issue_view_link(
    body: ViewLinkRequest,
    principal: Annotated[ClinicPrincipal, Depends(reader_or_admin)],
    views: ViewsDep,
) -> ViewLinkAnswer:
    """A link to one client's view or one therapist's caseload, for ``therapist_id``. Whoever opens it sees that
    view (and, from a caseload, the clients in it) until it expires; it is the credential, so send it only to
    that therapist."""
    if body.client_id is not None:
        found = await views.scoring.clients.alliance(principal.clinic_id, body.client_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such client")
    subject = body.client_id if body.client_id is not None else body.therapist_id
    link = ViewLink(principal.clinic_id, body.view, subject, body.therapist_id, principal.key_id)
    return ViewLinkAnswer(url=views.links.url(link), expires_at=datetime.now(UTC) + views.links.max_age)


@router.get("/links/{token}", response_class=HTMLResponse)
async def open_link(token: str, request: Request, views: ViewsDep) -> HTMLResponse:
    link = views.links.read(token)
    if link is None:
        raise NotFound()
    session = ViewSession.of_link(link)
    target = (
        f"/views/clients/{quote(link.subject)}"
        if link.view == "client"
        else f"/views/caseload/{quote(link.subject)}"
    )
    # A page that moves on by itself rather than a redirect: a SameSite=Strict cookie set while following a
    # link from an e-mail (another site) is not sent along that navigation's redirects, but it is sent on
    # the navigation this same-site page starts.
    response = render(request, "opening.html", {"target": target}, session)
    set_session(response, views, session)
    return response
