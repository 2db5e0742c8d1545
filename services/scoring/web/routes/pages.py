"""What every view shares: the views' state and dependencies, the session and its CSRF check, rendering with
the security headers, and the error pages."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.scoring.api import ScoringApi
from services.scoring.web import actions, wording
from services.scoring.web.access import COOKIE, SessionCookies, ViewLinks, ViewSession
from services.scoring.web.queries import ViewQueries
from services.scoring.web.settings import WebSettings
from shared.auth import ClinicPrincipal, KeyRing, Scope
from shared.client_links import ClientPages
from shared.repair import STRATEGY_WORDS, TYPE_WORDS

WEB = Path(__file__).parent.parent
TEMPLATES = Jinja2Templates(directory=WEB / "templates")
TEMPLATES.env.filters.update(wording.FILTERS)
TEMPLATES.env.globals["history_words"] = wording.HISTORY_WORDS
TEMPLATES.env.globals["repair_type_words"] = {str(k): v for k, v in TYPE_WORDS.items()}
TEMPLATES.env.globals["repair_strategy_words"] = {str(k): v for k, v in STRATEGY_WORDS.items()}
STATIC_DIR = WEB / "static"
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


@dataclass(frozen=True)
class Views:
    """What the views need, kept in ``app.state.views``."""

    scoring: ScoringApi
    queries: ViewQueries
    links: ViewLinks
    cookies: SessionCookies
    plumbing: actions.Plumbing
    settings: WebSettings
    pages: ClientPages  # the clients' own pages


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


class BadTags(Exception):
    """A form named a rupture type or a repair strategy that does not exist."""


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


def principal(session: ViewSession) -> ClinicPrincipal:
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


def check_csrf(session: ViewSession, token: str | None) -> None:
    if not session.csrf_matches(token):
        raise BadCsrf()


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

    async def bad_tags(request: Request, exc: Exception) -> Response:
        text = "A rupture type or repair strategy the form sent is not one of the 3RS terms. Go back and choose again."
        return render(request, "message.html", {"title": "Unknown tag", "text": text}, None, 422)

    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(BadTags, bad_tags)
    app.add_exception_handler(NoSession, no_session)
    app.add_exception_handler(BadCsrf, bad_csrf)


NOT_FOUND_TEXT = (
    "There is nothing here for you: the link is not valid (any more), or it does not cover this page. "
    "Open the link in your latest alert again, or ask your clinic for a new one."
)
