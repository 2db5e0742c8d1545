"""The client's web form behind a feedback link: GET shows it, POST publishes ``feedback.submitted``.

Plain HTML forms, so it works without JavaScript. Answers: 400 for a link this service did not sign (or one
altered), 410 for an expired link, 409 for a link already used (or being submitted this very moment), 422 for
values out of range (the form again, with the problems), 503 when Kafka did not take it (nothing stored; the
link stays usable).
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from services.feedback.event_store import EventStoreUnavailable, publish_one
from services.feedback.links.tokens import FeedbackLink, LinkExpired, LinkSigner, LinkTampered
from services.feedback.links.used import LinkBusy, LinkUsed, UsedLinks
from shared.contracts import FEEDBACK_SUBMITTED, FeedbackSubmittedV1, derived_event_id
from shared.instruments import INSTRUMENTS, Instrument

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

# What each slider asks, with the words at its two ends (after the SRS and ORS, in plain language).
ITEM_TEXT: dict[str, dict[str, tuple[str, str, str]]] = {
    "srs": {
        "relationship": (
            "Relationship",
            "I did not feel heard, understood and respected",
            "I felt heard, understood and respected",
        ),
        "goals": ("Goals and topics", "We did not work on what I wanted to", "We worked on what I wanted to"),
        "approach": (
            "Approach or method",
            "The way we worked is not a good fit for me",
            "The way we worked is a good fit for me",
        ),
        "overall": (
            "Overall",
            "Something was missing in today's session",
            "Today's session was right for me",
        ),
    },
    "ors": {
        "individual": ("Individually: my personal well-being", "Very poor", "Very good"),
        "interpersonal": ("Interpersonally: family and close relationships", "Very poor", "Very good"),
        "social": ("Socially: work, school, friendships", "Very poor", "Very good"),
        "overall": ("Overall: my general sense of well-being", "Very poor", "Very good"),
    },
}
TITLES = {"srs": "How was today's session?", "ors": "How have you been doing this past week?"}
PROBLEM_PAGES = {
    LinkTampered: (
        status.HTTP_400_BAD_REQUEST,
        "This link is not valid",
        "Please use the link exactly as you received it.",
    ),
    LinkExpired: (status.HTTP_410_GONE, "This link has expired", "Please ask your therapist for a new one."),
    LinkUsed: (
        status.HTTP_409_CONFLICT,
        "Thank you, this feedback was already sent",
        "Each link can be used once.",
    ),
    LinkBusy: (
        status.HTTP_409_CONFLICT,
        "Your feedback is being sent",
        "Please wait a moment; there is no need to send it again.",
    ),
    EventStoreUnavailable: (
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "We could not save your feedback just now",
        "Nothing was saved. Please try again in a minute.",
    ),
}


@router.get("/f/{token}", response_class=HTMLResponse)
async def show_form(request: Request, token: str) -> HTMLResponse:
    try:
        link = _signer(request).open(token)
        await _used(request).check_unused(link)
    except (LinkTampered, LinkExpired, LinkUsed) as problem:
        return _problem_page(request, problem)
    return _form_page(request, link, values={}, problems={}, comment="")


@router.post("/f/{token}", response_class=HTMLResponse)
async def submit_form(request: Request, token: str) -> HTMLResponse:
    fields = await request.form()
    try:
        link = _signer(request).open(token)
    except (LinkTampered, LinkExpired) as problem:
        return _problem_page(request, problem)
    spec = INSTRUMENTS[Instrument(link.instrument)]
    values = {item: str(fields.get(item, "")) for item in spec.items}
    comment = str(fields.get("comment", "")).strip()
    try:
        data = _feedback(link, values, comment)
    except ValidationError as invalid:
        problems = {str(error["loc"][-1]): error["msg"] for error in invalid.errors()}
        return _form_page(request, link, values, problems, comment, status.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        await _submit_once(request, link, data)
    except (LinkUsed, LinkBusy, EventStoreUnavailable) as problem:
        return _problem_page(request, problem)
    return templates.TemplateResponse(request, "thanks.html", {"title": "Thank you"})


async def _submit_once(request: Request, link: FeedbackLink, data: FeedbackSubmittedV1) -> None:
    used = _used(request)
    await used.claim(link)
    event = FEEDBACK_SUBMITTED.envelope(
        data,
        clinic_id=link.clinic_id,
        client_id=link.client_id,
        source=f"/clinics/{link.clinic_id}/feedback-link",
        event_id=derived_event_id("feedback-link", link.link_id),
    )
    try:
        await publish_one(request.app.state.broker, FEEDBACK_SUBMITTED, event)
    except BaseException:
        await used.release(link)
        raise
    await used.mark_used(link, event.id)


def _feedback(link: FeedbackLink, values: dict[str, str], comment: str) -> FeedbackSubmittedV1:
    items: dict[str, Any] = {}
    for item, raw in values.items():
        try:
            items[item] = float(raw)
        except ValueError:
            items[item] = raw  # the contract names it as not a number
    return FeedbackSubmittedV1.model_validate(
        {
            "session_id": link.session_id,
            "therapist_id": link.therapist_id,
            "client_id": link.client_id,
            "session_at": link.session_at,
            "instrument": link.instrument,
            "respondent": "client",
            "items": items,
            "comment": comment or None,
            "submitted_at": datetime.now(UTC),
        }
    )


def _form_page(
    request: Request,
    link: FeedbackLink,
    values: dict[str, str],
    problems: dict[str, str],
    comment: str,
    status_code: int = status.HTTP_200_OK,
) -> HTMLResponse:
    sliders = [
        {"name": item, "label": label, "low": low, "high": high, "value": values.get(item) or "5"}
        for item, (label, low, high) in ITEM_TEXT[link.instrument].items()
    ]
    context = {
        "title": TITLES[link.instrument],
        "sliders": sliders,
        "problems": problems,
        "comment": comment,
        "action": request.url.path,
    }
    return templates.TemplateResponse(request, "form.html", context, status_code=status_code)


def _problem_page(request: Request, problem: Exception) -> HTMLResponse:
    status_code, title, advice = PROBLEM_PAGES[type(problem)]
    return templates.TemplateResponse(
        request, "problem.html", {"title": title, "advice": advice}, status_code=status_code
    )


def _signer(request: Request) -> LinkSigner:
    signer: LinkSigner = request.app.state.link_signer
    return signer


def _used(request: Request) -> UsedLinks:
    used: UsedLinks = request.app.state.used_links
    return used
