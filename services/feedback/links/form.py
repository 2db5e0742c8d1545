"""The client's web form behind a feedback link: GET shows it, POST publishes ``feedback.submitted``.

An SRS form also asks the rupture report (``psq``, version 2) after the four sliders, in plain words: was there
tension between us, and only after a "yes", how much it bothered the client and how far it was resolved. The
report is optional; when given it is a second event of the same link.

A gbo form shows the client's own goals active in the link's session (``services.feedback.goals``), each with a
0-10 slider, and rates exactly those slots. A client with no goals active then gets a page saying so, and the
link stays usable for when goals are agreed. The form names the goals it showed; should they change before it
is sent (a revision arrived meanwhile), it is shown again with the current goals instead of rating the wrong ones.

Plain HTML forms, so it works without JavaScript (the follow-ups are revealed by CSS alone). Answers: 400 for a link this service did not sign (or one
altered), 410 for an expired link, 409 for a link already used (or being submitted this very moment), 422 for
values out of range (the form again, with the problems), 503 when Kafka did not take it (nothing stored; the
link stays usable), 410 as well once the client was erased (the link is of no use any more).

The client's comment leaves sealed for the event's id (``services.feedback.sealing``); the goals are stored
sealed and opened only here, to show them to their client.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from services.feedback.erasure import REFUSAL_REASON, ClientErased, refuse_erased
from services.feedback.event_store import EventStoreUnavailable, Publication, publish_all
from services.feedback.goals import ActiveGoal, GoalStore, SessionRef
from services.feedback.links.tokens import FeedbackLink, LinkExpired, LinkSigner, LinkTampered
from services.feedback.links.used import LinkBusy, LinkUsed, UsedLinks
from services.feedback.sealing import Outgoing
from shared.contracts import FEEDBACK_SUBMITTED, FeedbackSubmittedV1, derived_event_id
from shared.instruments import INSTRUMENTS, Instrument
from shared.privacy.plumbing import Privacy

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
TITLES = {
    "srs": "How was today's session?",
    "ors": "How have you been doing this past week?",
    "gbo": "How close are you to your goals?",
}
LEGENDS = {
    "srs": "Four questions, each from 0 to 10",
    "ors": "Four questions, each from 0 to 10",
    "gbo": "Your goals, each from 0 to 10",
}
# The ends of each goal's scale (Goal-Based Outcomes).
GOAL_ENDS = ("Not at all met", "Fully met")
GOALS_SHOWN = "goals_shown"  # the form's hidden field: the ids of the goals it showed, in slot order
# The rupture report's questions (our own wording of DOMAIN.md's items) and the words of each answer.
REPORT_QUESTIONS = {
    "tension": "Was there any tension, misunderstanding or disagreement between us in this session?",
    "intensity": "How much did it bother you?",
    "resolution": "How far was it resolved by the end of the session?",
}
REPORT_ANSWERS = {
    "intensity": {1: "Not at all", 2: "A little", 3: "Somewhat", 4: "Quite a bit", 5: "Very much"},
    "resolution": {1: "Not at all", 2: "A little", 3: "Partly", 4: "Mostly", 5: "Completely"},
}
REPORT_FIELD = "psq_"  # the form's names of the report's items: psq_tension, psq_intensity, psq_resolution
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
    ClientErased: (
        status.HTTP_410_GONE,
        "This link no longer works",
        "Your information was erased from this service, so nothing more can be sent with this link. If you "
        "would like to give feedback again, please ask your therapist.",
    ),
}
NO_GOALS = (
    "No goals agreed yet",
    "There are no goals of yours to rate yet. Once you and your therapist have agreed on your goals, this link "
    "shows them here.",
)


@router.get("/f/{token}", response_class=HTMLResponse)
async def show_form(request: Request, token: str) -> HTMLResponse:
    try:
        link = _signer(request).open(token)
        refuse_erased(_privacy(request), link.clinic_id, link.client_id)
        await _used(request).check_unused(link)
    except (LinkTampered, LinkExpired, LinkUsed, ClientErased) as problem:
        return problem_page(request, problem)
    goals = await _goals(request, link)
    if link.instrument == "gbo" and not goals:
        return _no_goals_page(request, link, status.HTTP_200_OK)
    return await _form_page(request, link, goals, values={}, problems={}, comment="")


@router.post("/f/{token}", response_class=HTMLResponse)
async def submit_form(request: Request, token: str) -> HTMLResponse:
    fields = await request.form()
    try:
        link = _signer(request).open(token)
        refuse_erased(_privacy(request), link.clinic_id, link.client_id)
    except (LinkTampered, LinkExpired, ClientErased) as problem:
        return problem_page(request, problem)
    goals = await _goals(request, link)
    if link.instrument == "gbo" and not goals:
        return _no_goals_page(request, link, status.HTTP_409_CONFLICT)
    items = [goal.item for goal in goals] if goals else list(INSTRUMENTS[Instrument(link.instrument)].items)
    values = {item: str(fields.get(item, "")) for item in items}
    report = {item: str(fields.get(REPORT_FIELD + item, "")) for item in REPORT_QUESTIONS}
    values.update({REPORT_FIELD + item: value for item, value in report.items() if value})
    comment = str(fields.get("comment", "")).strip()
    if goals and str(fields.get(GOALS_SHOWN, "")) != _shown(goals):
        updated = {"your goals": "they were updated since this page was opened; please rate them again"}
        return await _form_page(request, link, goals, {}, updated, comment, status.HTTP_409_CONFLICT)
    problems: dict[str, str] = {}
    ratings: list[FeedbackSubmittedV1] = []
    try:
        ratings.append(_feedback(link, link.instrument, items, values, comment))
    except ValidationError as invalid:
        problems.update({str(error["loc"][-1]): error["msg"] for error in invalid.errors()})
    if link.instrument == "srs" and report["tension"]:
        try:
            ratings.append(_feedback(link, "psq", REPORT_QUESTIONS, _report_values(report), ""))
        except ValidationError as invalid:
            problems["your answers about tension between you"] = _report_problem(invalid)
    if problems:
        return await _form_page(
            request, link, goals, values, problems, comment, status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    try:
        await _submit_once(request, link, ratings)
    except (LinkUsed, LinkBusy, EventStoreUnavailable, ClientErased) as problem:
        return problem_page(request, problem)
    return templates.TemplateResponse(
        request, "thanks.html", {"title": "Thank you", "back_url": link.back_url}
    )


async def _submit_once(request: Request, link: FeedbackLink, ratings: list[FeedbackSubmittedV1]) -> None:
    """Publish the link's ratings under ids derived from the link, at the moment of its first claim, so a retry
    after a failure makes no second copy of the one that was stored, only the very same event again. The rupture
    report goes first: the SRS alone can repair an open episode, and a report of tension arriving after that
    repair was announced would undo it (a session with a marker repairs nothing), while nothing can retract the
    announcement."""
    used = _used(request)
    outgoing: Outgoing = request.app.state.outgoing
    moment = await used.claim(link)
    try:
        events = [
            await outgoing.event(
                FEEDBACK_SUBMITTED,
                data.model_copy(update={"submitted_at": moment}),
                clinic_id=link.clinic_id,
                source=f"/clinics/{link.clinic_id}/feedback-link",
                event_id=derived_event_id("feedback-link", link.link_id, *_report_part(data)),
                time=moment,
            )
            for data in sorted(ratings, key=lambda data: data.instrument is not Instrument.PSQ)
        ]
        publications: list[Publication] = [(FEEDBACK_SUBMITTED, event) for event in events]
        if not all(await publish_all(request.app.state.broker, publications)):
            raise EventStoreUnavailable
    except ClientErased:
        await used.drop(link)  # nothing of an erased client is kept
        raise
    except BaseException:
        await used.release(link)
        raise
    await used.mark_used(link, events[-1].id)  # the link's own rating


def _report_part(data: FeedbackSubmittedV1) -> tuple[str, ...]:
    # The link's own rating keeps the id it always had; its rupture report gets one of its own.
    return ("psq",) if data.instrument is Instrument.PSQ else ()


def _feedback(
    link: FeedbackLink, instrument: str, names: Iterable[str], values: dict[str, str], comment: str
) -> FeedbackSubmittedV1:
    items: dict[str, Any] = {}
    for item in names:
        raw = values.get(item, "")
        if not raw and instrument == "psq":
            continue  # a follow-up not answered: the contract says whether it was needed
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
            "instrument": instrument,
            "respondent": "client",
            "items": items,
            "comment": comment or None,
            "submitted_at": datetime.now(UTC),
        }
    )


def _report_values(report: dict[str, str]) -> dict[str, str]:
    """The report as the contract reads it: a "no" drops any follow-up chosen before the client changed their
    mind (the browser still sends them, only hidden)."""
    if report["tension"] == "0":
        return {"tension": "0"}
    return report


def _report_problem(invalid: ValidationError) -> str:
    missing = [item for item in ("intensity", "resolution") if f"items.{item}: required" in str(invalid)]
    if missing:
        return "please also answer " + " and ".join(f'"{REPORT_QUESTIONS[item]}"' for item in missing)
    return "please choose one of the answers given"


async def _goals(request: Request, link: FeedbackLink) -> tuple[ActiveGoal, ...]:
    """The client's goals active in the link's session, for a gbo link; none for any other."""
    if link.instrument != "gbo":
        return ()
    store: GoalStore = request.app.state.goals
    known = await store.of(link.clinic_id, link.client_id)
    return known.active(SessionRef.of(link.session_at, link.session_id))


def _shown(goals: tuple[ActiveGoal, ...]) -> str:
    return " ".join(f"{goal.item}={goal.goal_id}" for goal in goals)


def _no_goals_page(request: Request, link: FeedbackLink, status_code: int) -> HTMLResponse:
    title, advice = NO_GOALS
    return templates.TemplateResponse(
        request,
        "problem.html",
        {"title": title, "advice": advice, "back_url": link.back_url},
        status_code=status_code,
    )


async def _form_page(
    request: Request,
    link: FeedbackLink,
    goals: tuple[ActiveGoal, ...],
    values: dict[str, str],
    problems: dict[str, str],
    comment: str,
    status_code: int = status.HTTP_200_OK,
) -> HTMLResponse:
    # The one place the goals' words are opened: to show them to the client whose words they are.
    readable = await _privacy(request).words.open_all(link.clinic_id, link.client_id, goals)
    scales = (
        {goal.item: (goal.text, *GOAL_ENDS) for goal in readable} if goals else ITEM_TEXT[link.instrument]
    )
    sliders = [
        {"name": item, "label": label, "low": low, "high": high, "value": values.get(item) or "5"}
        for item, (label, low, high) in scales.items()
    ]
    report = None
    if link.instrument == "srs":
        report = {
            "questions": REPORT_QUESTIONS,
            "answers": REPORT_ANSWERS,
            "chosen": {item: values.get(REPORT_FIELD + item, "") for item in REPORT_QUESTIONS},
        }
    context = {
        "title": TITLES[link.instrument],
        "legend": LEGENDS[link.instrument],
        "step": "1" if goals else "0.1",
        "goals_shown": _shown(goals) if goals else None,
        "sliders": sliders,
        "report": report,
        "problems": problems,
        "comment": comment,
        "action": request.url.path,
    }
    return templates.TemplateResponse(request, "form.html", context, status_code=status_code)


def problem_page(request: Request, problem: Exception) -> HTMLResponse:
    """The page for one of ``PROBLEM_PAGES``' problems, in plain words, with its status code."""
    status_code, title, advice = PROBLEM_PAGES[type(problem)]
    if isinstance(problem, ClientErased):
        request.state.refusal_reason = REFUSAL_REASON
    return templates.TemplateResponse(
        request, "problem.html", {"title": title, "advice": advice}, status_code=status_code
    )


def _signer(request: Request) -> LinkSigner:
    signer: LinkSigner = request.app.state.link_signer
    return signer


def _used(request: Request) -> UsedLinks:
    used: UsedLinks = request.app.state.used_links
    return used


def _privacy(request: Request) -> Privacy:
    privacy: Privacy = request.app.state.privacy
    return privacy
