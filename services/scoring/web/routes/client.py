"""One client's view, and its forms: acknowledge the open episode's alert, resolve it by hand, share a note
with the client (the goal forms are ``goals``)."""

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.scoring import domain
from services.scoring.service import AlreadyResolved, UnknownRupture
from services.scoring.translate import tags_from
from services.scoring.views import ClientAlliance, EpisodeView
from services.scoring.web import actions, figures, progress
from services.scoring.web.access import ViewSession
from services.scoring.web.routes.pages import (
    BadTags,
    CsrfField,
    NotFound,
    Session,
    Views,
    ViewsDep,
    check_csrf,
    principal,
    render,
)
from shared.contracts import RepairTags

router = APIRouter()
NOTICES = {
    "acknowledged": "Acknowledgement sent. It shows on the chart as soon as it is recorded (a moment).",
    "resolved": "The episode is resolved by hand; rupture.resolved is on its way to the other services.",
    "already-resolved": "That episode was already resolved.",
    "note-shared": "The note is shared. The client sees it on their own page and can answer it there.",
    "goals-agreed": (
        "The goals are agreed. They show here and on the client's own page as soon as they are recorded (a "
        "moment); the goal ratings (goal_1 to goal_3) follow their order."
    ),
    "goal-closed": "The goal is closed. It shows as ended as soon as it is recorded (a moment).",
    "goal-already-closed": "That goal had already ended.",
}
NOTE_LENGTH = 1000


async def visible_client(views: Views, session: ViewSession, client_id: str) -> ClientAlliance:
    alliance = await views.scoring.alliance(session.clinic_id, client_id)
    if alliance is None or not session.may_see_client(client_id, alliance.therapist_id):
        raise NotFound()
    return alliance


@router.get("/clients/{client_id}", response_class=HTMLResponse)
async def client_view(
    client_id: str, request: Request, session: Session, views: ViewsDep, done: str | None = None
) -> HTMLResponse:
    route = "GET /views/clients/{client_id}"
    try:
        alliance = await visible_client(views, session, client_id)
    except NotFound:
        await views.scoring.audit.record(
            principal(session), route, [client_id], found=False, actor=session.who
        )
        raise
    await views.scoring.audit.record(principal(session), route, [client_id], actor=session.who)
    thresholds = await views.scoring.settings.thresholds(session.clinic_id)
    return render(request, "client.html", view_context(alliance, thresholds, session, done), session)


def view_context(
    alliance: ClientAlliance, thresholds: domain.Thresholds, session: ViewSession, done: str | None = None
) -> dict[str, Any]:
    """What the client view's template draws: pure, from the stored read model and the clinic's thresholds."""
    episode = alliance.open_episode
    recent = list(reversed(alliance.sessions))[:10]  # the latest first
    trajectory = progress.trajectory(alliance, thresholds)
    return {
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
        "note_sessions": recent,
        "note_id": uuid.uuid4().hex,  # the form's own: a second click shares nothing twice
        "note_length": NOTE_LENGTH,
        "goal_sessions": recent,
        "goal_form_id": uuid.uuid4().hex,  # the same for the goal forms: a second click agrees nothing twice
        "active_goals": progress.active_goals(alliance.goals),
        "progress": {"goals": progress.goal_charts(alliance.goals), "trajectory": trajectory.chart},
        "trajectory": trajectory,
        "notice": NOTICES.get(done or ""),
    }


async def _open_episode(views: Views, session: ViewSession, client_id: str, rupture_id: str) -> EpisodeView:
    alliance = await visible_client(views, session, client_id)
    episode = alliance.open_episode
    if episode is None or episode.rupture_id != rupture_id:
        raise NotFound()
    return episode


def back(client_id: str, done: str, section: str | None = None) -> RedirectResponse:
    """To the client's view, saying what was done (and to the form's ``section`` of the page, if given)."""
    anchor = f"#{section}" if section else ""
    return RedirectResponse(
        f"/views/clients/{quote(client_id)}?done={done}{anchor}", status.HTTP_303_SEE_OTHER
    )


RuptureTypeField = Annotated[str, Form()]
StrategiesField = Annotated[list[str], Form()]


def _tags(rupture_type: str, strategies: list[str]) -> RepairTags:
    """The form's tags as the contract reads them; an unknown value is the 422 page."""
    try:
        return RepairTags.model_validate({"rupture_type": rupture_type or None, "strategies": strategies})
    except ValidationError as invalid:
        raise BadTags(invalid) from None


@router.post("/clients/{client_id}/ruptures/{rupture_id}/acknowledge")
async def acknowledge(
    client_id: str,
    rupture_id: str,
    session: Session,
    views: ViewsDep,
    csrf_token: CsrfField = None,
    rupture_type: RuptureTypeField = "",
    strategies: StrategiesField = [],  # noqa: B006  # FastAPI copies a form field's default
) -> Response:
    check_csrf(session, csrf_token)
    tags = _tags(rupture_type, strategies)
    episode = await _open_episode(views, session, client_id, rupture_id)
    await actions.acknowledge(views.plumbing, session.clinic_id, client_id, episode, session.actor, tags)
    await views.scoring.audit.record(
        principal(session),
        "POST /views/clients/{client_id}/ruptures/{rupture_id}/acknowledge",
        [client_id],
        actor=session.who,
    )
    return back(client_id, "acknowledged")


@router.post("/clients/{client_id}/ruptures/{rupture_id}/resolve")
async def resolve(
    client_id: str,
    rupture_id: str,
    session: Session,
    views: ViewsDep,
    note: Annotated[str, Form(min_length=1, max_length=2000)],
    csrf_token: CsrfField = None,
    rupture_type: RuptureTypeField = "",
    strategies: StrategiesField = [],  # noqa: B006  # FastAPI copies a form field's default
) -> Response:
    check_csrf(session, csrf_token)
    tags = _tags(rupture_type, strategies)
    await _open_episode(views, session, client_id, rupture_id)
    if not session.can_resolve:
        raise NotFound()
    try:
        await views.scoring.service.resolve_by_hand(
            session.clinic_id, rupture_id, session.actor, note.strip(), tags_from(tags)
        )
    except AlreadyResolved:
        return back(client_id, "already-resolved")
    except UnknownRupture:
        raise NotFound() from None
    except domain.InvalidAction:
        return back(client_id, "already-resolved")
    await views.scoring.audit.record(
        principal(session),
        "POST /views/clients/{client_id}/ruptures/{rupture_id}/resolve",
        [client_id],
        actor=session.who,
    )
    return back(client_id, "resolved")


@router.post("/clients/{client_id}/client-link", response_class=HTMLResponse)
async def client_page_link(
    client_id: str, request: Request, session: Session, views: ViewsDep, csrf_token: CsrfField = None
) -> HTMLResponse:
    """A link to the client's own page, shown once to whoever may see the client (their therapist's link, a
    supervisor), to hand to the client."""
    check_csrf(session, csrf_token)
    await visible_client(views, session, client_id)
    link, url = views.pages.issue(session.clinic_id, client_id)
    await views.scoring.audit.record(
        principal(session), "POST /views/clients/{client_id}/client-link", [client_id], actor=session.who
    )
    return render(
        request,
        "client_link.html",
        {"client_id": client_id, "url": url, "expires_at": link.expires_at},
        session,
    )


@router.post("/clients/{client_id}/notes")
async def share_note(
    client_id: str,
    session: Session,
    views: ViewsDep,
    session_id: Annotated[str, Form(min_length=1, max_length=64)],
    note_id: Annotated[str, Form(pattern=r"^[0-9a-f]{32}$")],
    text: Annotated[str, Form(min_length=1, max_length=NOTE_LENGTH)],
    csrf_token: CsrfField = None,
) -> Response:
    check_csrf(session, csrf_token)
    alliance = await visible_client(views, session, client_id)
    about = next((s for s in alliance.sessions if s.session_id == session_id), None)
    if about is None:
        raise NotFound()
    await actions.share_note(views.plumbing, session.clinic_id, client_id, about, note_id, text.strip())
    await views.scoring.audit.record(
        principal(session), "POST /views/clients/{client_id}/notes", [client_id], actor=session.who
    )
    return back(client_id, "note-shared")
