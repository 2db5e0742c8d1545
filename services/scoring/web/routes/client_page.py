"""The client's own page, behind the signed link ``POST /v1/client-links`` issues (``shared.client_links``).

``GET /c/{token}`` shows one client, in plain words and large type, what ``web.client_page`` picks for them. Its
forms and its "rate" link lead to the feedback intake, which publishes the answers like every other event; the
page reads them back once scoring has applied them. A link this service did not sign, or one altered, answers 400;
an expired one 410; a client the clinic no longer has 404. Every opening is written to the audit log.
"""

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from services.scoring.web import client_page
from services.scoring.web.routes.pages import SECURITY_HEADERS, STATIC_URL, TEMPLATES, ViewsDep
from shared.auth import ClinicPrincipal, Scope, require_scope
from shared.client_links import ClientPageLink
from shared.contracts.fields import OpaqueId
from shared.signed import TokenExpired, TokenTampered

router = APIRouter(include_in_schema=False)
link_router = APIRouter(prefix="/v1", tags=["client page"])
ROUTE = "GET /c/{token}"
PROBLEMS = {
    TokenTampered: (
        status.HTTP_400_BAD_REQUEST,
        "This link is not valid",
        "Please open the link exactly as you received it, or ask your therapist for a new one.",
    ),
    TokenExpired: (
        status.HTTP_410_GONE,
        "This link has expired",
        "Your page is safe. Please ask your therapist for a new link.",
    ),
    LookupError: (
        status.HTTP_404_NOT_FOUND,
        "There is nothing here",
        "Please ask your therapist for a new link.",
    ),
}


class ClientLinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: OpaqueId = Field(description="The client whose page the link opens.")
    expires_in_days: int | None = Field(
        default=None, ge=1, le=365, description="Lifetime of the link; CLIENT_PAGE_DAYS (30) when absent."
    )


class ClientLinkAnswer(BaseModel):
    url: str = Field(
        description="Send this to the client only: whoever holds it sees their page until expires_at."
    )
    link_id: str
    expires_at: datetime


FIT_WORDS = {"yes": "Yes", "partly": "Partly", "no": "No"}
# The systems that reach clients (scheduling, portals) hold ingest keys; a read key, for dashboards that read
# clinical data, hands out no credentials.
ingest_or_admin = require_scope(Scope.INGEST, Scope.ADMIN)


@link_router.post(
    "/client-links",
    status_code=status.HTTP_201_CREATED,
    responses={
        401: {"description": "Missing, unknown or revoked API key"},
        403: {"description": "The key lacks the 'ingest' and 'admin' scopes"},
        404: {"description": "No such client in the caller's clinic"},
    },
    summary="Issue a signed link to a client's own page",
)
async def issue_client_link(
    body: ClientLinkRequest, principal: Annotated[ClinicPrincipal, Depends(ingest_or_admin)], views: ViewsDep
) -> ClientLinkAnswer:
    """A link to the client's own page: their SRS and ORS over time in plain words, their goals with their own
    ratings, the therapist's shared notes with buttons to answer them, and a link to rate their latest session; never markers, severities or the
    therapist's ratings. An ``ingest`` or ``admin`` key asks."""
    if await views.scoring.clients.alliance(principal.clinic_id, body.client_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such client")
    link, url = views.pages.issue(principal.clinic_id, body.client_id, body.expires_in_days)
    await views.scoring.audit.record(principal, "POST /v1/client-links", [body.client_id])
    return ClientLinkAnswer(url=url, link_id=link.link_id, expires_at=link.expires_at)


@router.get("/c/{token}", response_class=HTMLResponse)
async def client_page_view(
    token: str, request: Request, views: ViewsDep, answered: str | None = None
) -> HTMLResponse:
    try:
        link = views.pages.pages.open(token)
    except (TokenTampered, TokenExpired) as problem:
        return _problem(request, views, problem)
    who = ClinicPrincipal(link.clinic_id, f"client-page:{link.link_id}", frozenset())
    alliance = await views.scoring.alliance(link.clinic_id, link.client_id)
    await views.scoring.audit.record(
        who, ROUTE, [link.client_id], found=alliance is not None, actor=f"client:{link.client_id}"
    )
    if alliance is None:
        return _problem(request, views, LookupError())
    page = client_page.client_page(alliance, datetime.now(UTC))
    page_url = views.pages.page_url(token)
    context = {
        "page": page,
        "link": link,
        "lines": {"srs": client_page.line(page.sessions_felt), "ors": client_page.line(page.doing)},
        "goal_lines": {goal.goal_id: client_page.goal_line(goal) for goal in page.goals},
        "answer_urls": {note.note_id: _answer_url(views, link, page_url, note) for note in page.notes},
        "rate_url": _rate_url(views, link, page_url, page.latest_session),
        "fit_words": FIT_WORDS,
        "answered": answered if any(n.note_id == answered for n in page.notes) else None,
    }
    return _render(request, views, "client_page.html", context)


def _answer_url(views: ViewsDep, link: ClientPageLink, page_url: str, note: client_page.NoteForClient) -> str:
    return views.pages.answer_url(
        link,
        page_url,
        note_id=note.note_id,
        session_id=note.session_id,
        therapist_id=note.therapist_id,
        session_at=note.session_at,
    )


def _rate_url(
    views: ViewsDep, link: ClientPageLink, page_url: str, session: client_page.SessionToRate | None
) -> str | None:
    if session is None or session.rated:
        return None
    return views.pages.rating_url(
        link,
        page_url,
        session_id=session.session_id,
        therapist_id=session.therapist_id,
        session_at=session.occurred_at,
    )


def _problem(request: Request, views: ViewsDep, problem: Exception) -> HTMLResponse:
    status_code, title, advice = PROBLEMS[type(problem)]
    return _render(request, views, "client_message.html", {"title": title, "advice": advice}, status_code)


def _render(
    request: Request, views: ViewsDep, template: str, context: dict[str, object], status_code: int = 200
) -> HTMLResponse:
    response = TEMPLATES.TemplateResponse(
        request, template, {"static": STATIC_URL, **context}, status_code=status_code
    )
    response.headers.update(SECURITY_HEADERS)
    # The answers go to the feedback intake, on its own origin.
    intake = urlsplit(views.pages.settings.intake_url)
    response.headers["Content-Security-Policy"] = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "form-action 'self'", f"form-action 'self' {intake.scheme}://{intake.netloc}"
    )
    response.headers["X-Robots-Tag"] = "noindex"
    return response
