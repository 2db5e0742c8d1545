"""One client's view, and its two buttons: acknowledge the open episode's alert, resolve it by hand."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.scoring import domain
from services.scoring.service import AlreadyResolved, UnknownRupture
from services.scoring.views import ClientAlliance, EpisodeView
from services.scoring.web import actions, figures
from services.scoring.web.access import ViewSession
from services.scoring.web.routes.pages import (
    CsrfField,
    NotFound,
    Session,
    Views,
    ViewsDep,
    check_csrf,
    principal,
    render,
)

router = APIRouter()
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
            principal(session), route, [client_id], found=False, actor=session.who
        )
        raise
    await views.scoring.audit.record(principal(session), route, [client_id], actor=session.who)
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
    check_csrf(session, csrf_token)
    episode = await _open_episode(views, session, client_id, rupture_id)
    await actions.acknowledge(views.plumbing, session.clinic_id, client_id, episode, session.actor)
    await views.scoring.audit.record(
        principal(session),
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
    check_csrf(session, csrf_token)
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
        principal(session),
        "POST /views/clients/{client_id}/ruptures/{rupture_id}/resolve",
        [client_id],
        actor=session.who,
    )
    return _back(client_id, "resolved")
