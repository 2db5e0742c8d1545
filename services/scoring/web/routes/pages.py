"""The clinician views: HTML pages rendered on the server (Jinja2), charts drawn in the browser (Chart.js).

Routes (``/views/...``, outside the JSON API and its OpenAPI document, except ``POST /v1/view-links``):

- ``POST /v1/view-links`` (a ``read`` or ``admin`` key): a signed, expiring link to one client's view or one
  therapist's caseload, for one therapist;
- ``GET /views/links/{token}``: opens such a link: starts a view session limited to it, then goes to the view;
- ``GET``/``POST /views/sign-in``: supervisors sign in with a ``read`` clinic key; ``POST /views/sign-out``;
- ``GET /views/clients/{id}``, ``GET /views/caseload/{therapist_id}``, ``GET /views/clinic``: the views;
- ``POST /views/clients/{id}/ruptures/{rupture_id}/acknowledge`` and ``.../resolve``: the buttons.

Every POST form carries the session's CSRF token. Anything of another clinic, or outside what a link grants,
answers 404 exactly like what does not exist. Every view of one client's data is written to the audit log.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.scoring import domain
from services.scoring.api import ScoringApi
from services.scoring.service import AlreadyResolved, UnknownRupture
from services.scoring.views import ClientAlliance, EpisodeView
from services.scoring.web import actions, figures
from services.scoring.web.access import COOKIE, SessionCookies, ViewLink, ViewLinks, ViewSession
from services.scoring.web.queries import ViewQueries
from services.scoring.web.settings import WebSettings
from shared.auth import ClinicPrincipal, KeyRing, Scope, require_scope
from shared.contracts.fields import OpaqueId

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
STATIC_DIR = HERE / "static"
STATIC_URL = "/views/static"
SECURITY_HEADERS = {
    # Scripts and styles come from our own static files only; the chart data is inert JSON in the page.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # link tokens must not leak through Referer
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/views", include_in_schema=False)
link_router = APIRouter(prefix="/v1", tags=["views"])


@dataclass(frozen=True)
class Views:
    """What the views need, kept in ``app.state.views``."""

    scoring: ScoringApi
    queries: ViewQueries
    links: ViewLinks
    cookies: SessionCookies
    plumbing: actions.Plumbing
    settings: WebSettings


def _views(request: Request) -> Views:
    views: Views = request.app.state.views
    return views


ViewsDep = Annotated[Views, Depends(_views)]


class NotFound(Exception):
    """Answered as the 404 page: no such thing, or not this session's to see."""


class NoSession(Exception):
    """No valid session: sent to the sign-in page."""


class BadCsrf(Exception):
    """A form posted without this session's CSRF token."""


def current_session(request: Request, views: ViewsDep) -> ViewSession | None:
    return views.cookies.load(request.cookies.get(COOKIE))


def signed_in(request: Request, views: ViewsDep) -> ViewSession:
    session = current_session(request, views)
    if session is None or not session.signed_in:
        raise NoSession()
    if session.role == "supervisor" and not _key_still_valid(request.app.state.key_ring, session):
        raise NoSession()  # the key was revoked since: the session ends with it
    return session


Session = Annotated[ViewSession, Depends(signed_in)]
CsrfField = Annotated[str | None, Form()]


def _key_still_valid(ring: KeyRing, session: ViewSession) -> bool:
    return any(
        key_hash.startswith(session.key_id) and not revoked and scopes & {Scope.READ, Scope.ADMIN}
        for key_hash, scopes, revoked in ring.keys_of(session.clinic_id)
    )


def _principal(session: ViewSession) -> ClinicPrincipal:
    return ClinicPrincipal(session.clinic_id, session.key_id, frozenset())


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    session: ViewSession | None,
    status_code: int = 200,
) -> HTMLResponse:
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {"session": session, "static": STATIC_URL, **context},
        status_code=status_code,
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def set_session(response: Response, views: Views, session: ViewSession) -> None:
    response.set_cookie(
        COOKIE,
        views.cookies.dump(session),
        max_age=int(views.cookies.max_age.total_seconds()),
        path="/views",
        httponly=True,
        samesite="strict",
        secure=views.cookies.secure,
    )


def _check_csrf(session: ViewSession, token: str | None) -> None:
    if not session.csrf_matches(token):
        raise BadCsrf()


# ---- links ---------------------------------------------------------------------------------------------


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


# ---- sign-in --------------------------------------------------------------------------------------------


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, views: ViewsDep) -> HTMLResponse:
    session = current_session(request, views) or ViewSession.anonymous()
    response = render(request, "sign_in.html", {"error": None}, session)
    set_session(response, views, session)  # the CSRF token of the sign-in form lives in it
    return response


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    views: ViewsDep,
    csrf_token: CsrfField = None,
    api_key: Annotated[str, Form(max_length=512)] = "",
    your_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    session = current_session(request, views)
    if session is None:
        raise BadCsrf()
    _check_csrf(session, csrf_token)
    ring: KeyRing = request.app.state.key_ring
    principal = ring.authenticate(api_key) if api_key else None
    error = None
    if principal is None or Scope.READ not in principal.scopes:
        error = "That key is not valid, or it lacks the 'read' scope."
    elif not domain_id(your_id):
        error = "Give your id: 1–64 letters, digits, '-', '_' or '.'."
    if error is not None or principal is None:
        return render(request, "sign_in.html", {"error": error}, session, status.HTTP_401_UNAUTHORIZED)
    signed = ViewSession(
        role="supervisor",
        clinic_id=principal.clinic_id,
        actor=your_id,
        key_id=principal.key_id,
        can_resolve=Scope.ADMIN in principal.scopes,  # as in the API: resolving by hand needs admin
    )  # a new session (and CSRF token) on every sign-in: a token seen before signing in is worthless
    response = RedirectResponse("/views/clinic", status.HTTP_303_SEE_OTHER)
    set_session(response, views, signed)
    return response


def domain_id(value: str) -> bool:
    return 1 <= len(value) <= 64 and all(c.isalnum() or c in "-_." for c in value) and value.isascii()


@router.post("/sign-out")
async def sign_out(session: Session, csrf_token: CsrfField = None) -> Response:
    _check_csrf(session, csrf_token)
    response = RedirectResponse("/views/sign-in", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path="/views")
    return response


# ---- client view ----------------------------------------------------------------------------------------

NOTICES = {
    "acknowledged": "Acknowledgement sent. It shows on the chart as soon as it is recorded (a moment).",
    "resolved": "The episode is resolved by hand; rupture.resolved is on its way to the other services.",
    "already-resolved": "That episode was already resolved.",
}


async def _visible_client(views: Views, session: ViewSession, client_id: str) -> ClientAlliance:
    alliance = await views.scoring.clients.alliance(session.clinic_id, client_id)
    if alliance is None or not session.may_see_client(client_id, alliance.therapist_id):
        raise NotFound()
    return alliance


@router.get("/clients/{client_id}", response_class=HTMLResponse)
async def client_view(
    client_id: str, request: Request, session: Session, views: ViewsDep, done: str | None = None
) -> HTMLResponse:
    route = "GET /views/clients/{client_id}"
    try:
        alliance = await _visible_client(views, session, client_id)
    except NotFound:
        await views.scoring.audit.record(
            _principal(session), route, [client_id], found=False, actor=session.who
        )
        raise
    await views.scoring.audit.record(_principal(session), route, [client_id], actor=session.who)
    thresholds = await views.scoring.settings.thresholds(session.clinic_id)
    episode = alliance.open_episode
    return render(
        request,
        "client.html",
        {
            "alliance": alliance,
            "chart": figures.client_chart(alliance, thresholds),
            "thresholds": thresholds,
            "rows": [
                {
                    "session": s,
                    "client_srs": figures.rating_items(s, "srs", "client"),
                    "therapist_srs": figures.rating_total(s, "srs", "therapist"),
                    "ors": figures.rating_total(s, "ors", "client"),
                    "blind_spot": figures.blind_spots(s, thresholds),
                }
                for s in alliance.sessions
            ],
            "items": figures.SRS_ITEMS,
            "may_acknowledge": episode is not None and episode.acknowledgement is None,
            "may_resolve": episode is not None and session.can_resolve,
            "notice": NOTICES.get(done or ""),
        },
        session,
    )


async def _open_episode(views: Views, session: ViewSession, client_id: str, rupture_id: str) -> EpisodeView:
    alliance = await _visible_client(views, session, client_id)
    episode = alliance.open_episode
    if episode is None or episode.rupture_id != rupture_id:
        raise NotFound()
    return episode


def _back(client_id: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/views/clients/{quote(client_id)}?done={done}", status.HTTP_303_SEE_OTHER)


@router.post("/clients/{client_id}/ruptures/{rupture_id}/acknowledge")
async def acknowledge(
    client_id: str, rupture_id: str, session: Session, views: ViewsDep, csrf_token: CsrfField = None
) -> Response:
    _check_csrf(session, csrf_token)
    episode = await _open_episode(views, session, client_id, rupture_id)
    await actions.acknowledge(views.plumbing, session.clinic_id, client_id, episode, session.actor)
    await views.scoring.audit.record(
        _principal(session),
        "POST /views/clients/{client_id}/ruptures/{rupture_id}/acknowledge",
        [client_id],
        actor=session.who,
    )
    return _back(client_id, "acknowledged")


@router.post("/clients/{client_id}/ruptures/{rupture_id}/resolve")
async def resolve(
    client_id: str,
    rupture_id: str,
    session: Session,
    views: ViewsDep,
    note: Annotated[str, Form(min_length=1, max_length=2000)],
    csrf_token: CsrfField = None,
) -> Response:
    _check_csrf(session, csrf_token)
    await _open_episode(views, session, client_id, rupture_id)
    if not session.can_resolve:
        raise NotFound()
    try:
        await views.scoring.service.resolve_by_hand(
            session.clinic_id, rupture_id, session.actor, note.strip()
        )
    except AlreadyResolved:
        return _back(client_id, "already-resolved")
    except UnknownRupture:
        raise NotFound() from None
    except domain.InvalidAction:
        return _back(client_id, "already-resolved")
    await views.scoring.audit.record(
        _principal(session),
        "POST /views/clients/{client_id}/ruptures/{rupture_id}/resolve",
        [client_id],
        actor=session.who,
    )
    return _back(client_id, "resolved")


# ---- caseload and clinic --------------------------------------------------------------------------------


@router.get("/caseload/{therapist_id}", response_class=HTMLResponse)
async def caseload_view(
    therapist_id: str, request: Request, session: Session, views: ViewsDep
) -> HTMLResponse:
    if not session.may_see_caseload(therapist_id):
        raise NotFound()
    now = datetime.now(UTC)
    rows = figures.caseload_rows(await views.queries.caseload(session.clinic_id, therapist_id), now)
    await views.scoring.audit.record(
        _principal(session),
        "GET /views/caseload/{therapist_id}",
        [row.client_id for row in rows],
        actor=session.who,
    )
    thresholds = await views.scoring.settings.thresholds(session.clinic_id)
    return render(
        request,
        "caseload.html",
        {
            "therapist_id": therapist_id,
            "rows": rows,
            "cutoff_y": figures.spark_y(float(thresholds.srs_cutoff)),
            "cutoff": float(thresholds.srs_cutoff),
        },
        session,
    )


@router.get("/clinic", response_class=HTMLResponse)
async def clinic_view(request: Request, session: Session, views: ViewsDep) -> HTMLResponse:
    if session.role != "supervisor":
        raise NoSession()
    now = datetime.now(UTC)
    active = await views.queries.active(session.clinic_id, now - timedelta(days=views.scoring.active_days))
    found = figures.clinic_figures(active, now)
    chart = {
        "therapists": list(found.therapists),
        "open_share": [round((f.open_share or 0.0) * 100, 1) for f in found.therapists.values()],
        "guide": figures.ONE_IN_TEN * 100,
        "clinic_share": round((found.clinic.open_share or 0.0) * 100, 1),
    }
    return render(
        request,
        "clinic.html",
        {
            "figures": found,
            "chart": chart,
            "active_days": views.scoring.active_days,
            "guide": figures.ONE_IN_TEN,
        },
        session,
    )


# ---- errors ---------------------------------------------------------------------------------------------


def install_handlers(app: Any) -> None:
    async def not_found(request: Request, exc: Exception) -> Response:
        return render(request, "message.html", {"title": "Not found", "text": NOT_FOUND_TEXT}, None, 404)

    async def no_session(request: Request, exc: Exception) -> Response:
        response = RedirectResponse("/views/sign-in", status.HTTP_303_SEE_OTHER)
        response.headers.update(SECURITY_HEADERS)
        return response

    async def bad_csrf(request: Request, exc: Exception) -> Response:
        text = "This form has expired or did not come from this site. Go back, reload the page and try again."
        return render(request, "message.html", {"title": "Form expired", "text": text}, None, 403)

    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(NoSession, no_session)
    app.add_exception_handler(BadCsrf, bad_csrf)


NOT_FOUND_TEXT = (
    "There is nothing here for you: the link is not valid (any more), or it does not cover this page. "
    "Open the link in your latest alert again, or ask your clinic for a new one."
)
