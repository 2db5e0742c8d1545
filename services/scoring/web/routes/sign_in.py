"""Supervisors sign in with a clinic key that has the ``read`` scope; anyone signed in may sign out."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.scoring.web.access import COOKIE, ViewSession
from services.scoring.web.routes.pages import (
    BadCsrf,
    CsrfField,
    Session,
    ViewsDep,
    check_csrf,
    current_session,
    render,
    set_session,
)
from shared.auth import KeyRing, Scope

router = APIRouter()


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
    check_csrf(session, csrf_token)
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
    check_csrf(session, csrf_token)
    response = RedirectResponse("/views/sign-in", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path="/views")
    return response
