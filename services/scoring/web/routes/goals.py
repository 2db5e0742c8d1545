"""The client view's goal forms (DOMAIN.md version 2, "Goals agreed together"): agree or revise the client's
goals, and close one. Each stages its event in scoring's outbox like a shared note (``actions``), with an id
from the form, so a double click publishes once; scoring applies it from ``client.events`` like goals any other
system records, and the view shows it a moment later.

Whoever may share a note may do this: the therapist of the client's link, or a supervisor. Input the contract
would refuse answers a 422 page that says what to correct and sends nothing.
"""

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, Response

from services.scoring.views import ClientAlliance, SessionView
from services.scoring.web import actions
from services.scoring.web.progress import active_goals
from services.scoring.web.routes.client import back, visible_client
from services.scoring.web.routes.pages import (
    CsrfField,
    NotFound,
    Session,
    ViewsDep,
    check_csrf,
    principal,
    render,
)
from shared.contracts import GoalOutcome

router = APIRouter()
GOAL_LENGTH = 300
MAX_GOALS = 3
FORM_ID = re.compile(r"^[0-9a-f]{32}$")
TextField = Annotated[str, Form()]


def _problems_page(request: Request, session: Session, client_id: str, problems: list[str]) -> HTMLResponse:
    """The 422 page: what to correct. It never repeats the goals' words, which the form still holds."""
    return render(
        request,
        "goal_problems.html",
        {"client_id": client_id, "problems": problems},
        session,
        status.HTTP_422_UNPROCESSABLE_ENTITY,
    )


def _session_of(alliance: ClientAlliance, session_id: str) -> SessionView | None:
    return next((s for s in alliance.sessions if s.session_id == session_id), None)


def _one_line(text: str) -> str:
    """A goal is one sentence: line breaks and runs of spaces become single spaces."""
    return " ".join(text.split())


@router.post("/clients/{client_id}/goals")
async def agree_goals(
    client_id: str,
    request: Request,
    session: Session,
    views: ViewsDep,
    csrf_token: CsrfField = None,
    session_id: TextField = "",
    form_id: TextField = "",
    goal_1: TextField = "",
    goal_2: TextField = "",
    goal_3: TextField = "",
) -> Response:
    """Agree the goals in the form's fields, in order, as the client's active goals from the chosen session on
    (a revision replaces the list). A goal whose words are those of an active goal keeps its id, and so its
    ratings; new words make a new goal."""
    check_csrf(session, csrf_token)
    alliance = await visible_client(views, session, client_id)
    about = _session_of(alliance, session_id)
    texts = [_one_line(text) for text in (goal_1, goal_2, goal_3)]
    problems = []
    if not FORM_ID.match(form_id):
        problems.append("The form is incomplete. Reload the client's page and agree the goals again.")
    if about is None:
        problems.append("Choose one of the client's sessions: the one in which you agreed the goals.")
    if not any(texts):
        problems.append("Write at least one goal.")
    for k, text in enumerate(texts, start=1):
        if len(text) > GOAL_LENGTH:
            problems.append(f"Goal {k} has {len(text)} characters: a goal may have at most {GOAL_LENGTH}.")
        if text and text in texts[: k - 1]:
            problems.append(f"Goal {k} repeats goal {texts.index(text) + 1} word for word.")
    if problems or about is None:
        return _problems_page(request, session, client_id, problems)
    kept = {_one_line(goal.text): goal.goal_id for goal in active_goals(alliance.goals)}
    filled = [text for text in texts if text]
    goals = [(kept.get(text) or f"g-{form_id}-{k}", text) for k, text in enumerate(filled, start=1)]
    await actions.agree_goals(views.plumbing, session.clinic_id, client_id, about, form_id, goals)
    await views.scoring.audit.record(
        principal(session), "POST /views/clients/{client_id}/goals", [client_id], actor=session.who
    )
    return back(client_id, "goals-agreed", "goals")


@router.post("/clients/{client_id}/goals/{goal_id}/close")
async def close_goal(
    client_id: str,
    goal_id: str,
    request: Request,
    session: Session,
    views: ViewsDep,
    csrf_token: CsrfField = None,
    outcome: TextField = "",
    session_id: TextField = "",
    form_id: TextField = "",
) -> Response:
    """End one active goal in the chosen session: met, dropped or replaced."""
    check_csrf(session, csrf_token)
    alliance = await visible_client(views, session, client_id)
    goal = next((g for g in alliance.goals if g.goal_id == goal_id), None)
    if goal is None:
        raise NotFound()
    if goal.status != "active":
        return back(client_id, "goal-already-closed", "goals")
    about = _session_of(alliance, session_id)
    order = [s.session_id for s in alliance.sessions]
    problems = []
    if not FORM_ID.match(form_id):
        problems.append("The form is incomplete. Reload the client's page and close the goal again.")
    if outcome not in {o.value for o in GoalOutcome}:
        problems.append("Choose how the goal ended: met, dropped or replaced.")
    if about is None:
        problems.append("Choose one of the client's sessions: the one in which the goal ended.")
    elif goal.agreed_session_id in order and order.index(about.session_id) < order.index(
        goal.agreed_session_id
    ):
        problems.append(
            f"A goal ends in or after the session it was agreed in ({goal.agreed_at:%Y-%m-%d}): choose a "
            "later session."
        )
    if problems or about is None:
        return _problems_page(request, session, client_id, problems)
    await actions.close_goal(
        views.plumbing, session.clinic_id, client_id, about, goal_id, GoalOutcome(outcome), form_id
    )
    await views.scoring.audit.record(
        principal(session),
        "POST /views/clients/{client_id}/goals/{goal_id}/close",
        [client_id],
        actor=session.who,
    )
    return back(client_id, "goal-closed", "goals")
