"""What a client does on their own page (served by scoring; see ``shared.client_links``), taken in here like
every other event.

- ``POST /c/answers/{ticket}`` (form: ``fit`` yes/partly/no, optional ``comment``) publishes ``note.answered`` and
  sends the client back to their page. The event id derives from the ticket's nonce and the answer, so a form
  sent twice is one event, while an answer changed later on a fresh page is a new one (the latest counts).
- ``GET /c/rate/{ticket}`` opens the SRS form for the session it names: a feedback link whose id derives from
  the session, so however often the client opens it, the session is rated once.

Answers: 400 for a ticket not signed with CLIENT_PAGE_SECRET (or altered), 410 once the page link it came
from has expired or the client was erased, 422 for an answer that is not one of the three, 503 when Kafka did
not take it (nothing stored; the client can send it again). The comment leaves sealed for the event's id.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.feedback.erasure import ClientErased, refuse_erased
from services.feedback.event_store import EventStoreUnavailable, publish_all
from services.feedback.links.form import problem_page, templates
from services.feedback.links.issue import FORM_PATH
from services.feedback.links.tokens import LinkSigner
from services.feedback.sealing import Outgoing
from services.feedback.settings import FeedbackSettings
from shared.client_links import ClientPages
from shared.contracts import NOTE_ANSWERED, NoteAnsweredV1, derived_event_id
from shared.privacy.plumbing import Privacy
from shared.signed import TokenExpired, TokenTampered

router = APIRouter(include_in_schema=False)


@router.post("/c/answers/{ticket}", response_class=HTMLResponse)
async def answer_note(
    request: Request,
    ticket: str,
    fit: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    try:
        answering = _pages(request).answers.open(ticket)
        refuse_erased(_privacy(request), answering.clinic_id, answering.client_id)
    except (TokenTampered, TokenExpired, ClientErased) as problem:
        return problem_page(request, problem)
    comment = comment.strip()
    try:
        answer = NoteAnsweredV1(
            note_id=answering.note_id,
            session_id=answering.session_id,
            therapist_id=answering.therapist_id,
            client_id=answering.client_id,
            session_at=answering.session_at,
            fit=fit,  # one of yes, partly, no: anything else is the 422 below
            comment=comment or None,
            answered_at=datetime.now(UTC),
        )
    except ValidationError:
        return templates.TemplateResponse(
            request,
            "problem.html",
            {
                "title": "Please choose an answer",
                "advice": "Choose yes, partly or no (a comment can be up to 2,000 characters).",
                "back_url": answering.page_url,
            },
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    outgoing: Outgoing = request.app.state.outgoing
    try:
        event = await outgoing.event(
            NOTE_ANSWERED,
            answer,
            clinic_id=answering.clinic_id,
            source=f"/clinics/{answering.clinic_id}/client-page",
            event_id=derived_event_id("client-page", answering.nonce, answer.fit.value, comment),
        )
        if not all(await publish_all(request.app.state.broker, [(NOTE_ANSWERED, event)])):
            raise EventStoreUnavailable
    except (EventStoreUnavailable, ClientErased) as problem:
        return problem_page(request, problem)
    back = f"{answering.page_url}?answered={answering.note_id}#note-{answering.note_id}"
    return RedirectResponse(back, status.HTTP_303_SEE_OTHER)


@router.get("/c/rate/{ticket}", response_class=HTMLResponse)
async def rate_latest_session(request: Request, ticket: str) -> Response:
    try:
        rating = _pages(request).ratings.open(ticket)
        refuse_erased(_privacy(request), rating.clinic_id, rating.client_id)
    except (TokenTampered, TokenExpired, ClientErased) as problem:
        return problem_page(request, problem)
    settings: FeedbackSettings = request.app.state.settings
    signer: LinkSigner = request.app.state.link_signer
    _, token = signer.issue(
        clinic_id=rating.clinic_id,
        client_id=rating.client_id,
        therapist_id=rating.therapist_id,
        session_id=rating.session_id,
        session_at=rating.session_at,
        instrument="srs",
        lifetime=timedelta(hours=settings.link_hours),
        link_id=derived_event_id("client-page-rating", rating.clinic_id, rating.client_id, rating.session_id),
        back_url=rating.page_url,
    )
    return RedirectResponse(FORM_PATH + token, status.HTTP_303_SEE_OTHER)


def _pages(request: Request) -> ClientPages:
    pages: ClientPages = request.app.state.client_pages
    return pages


def _privacy(request: Request) -> Privacy:
    privacy: Privacy = request.app.state.privacy
    return privacy
