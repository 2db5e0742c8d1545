"""POST /v1/events:batch: up to 500 sessions, ratings, notes and goals, each answered on its own.

Valid items of different clients are sent to Kafka at once, one client's one after the other in the order of
the request (``publish_all``), and the answer waits for every acknowledgement; invalid items are rejected with
each bad field named. Every item goes to ``client.events`` keyed by its client, so one client's items are
stored in the order the batch gives them (a rating first, then its session record, if that is how the caller
listed them), and are applied in that order. An item is either acknowledged by Kafka (``accepted``, with its
event id), ``rejected``, or ``unavailable`` when Kafka did not take it (nor a later item of its client): the
whole answer is then 503, and the client resends the whole batch with the same Idempotency-Key.

A person's words leave sealed for their item's event id, as from the single endpoints. An item of an erased
client is ``rejected``, its problem naming ``data.client_id`` (the 410 of the single endpoints).
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from services.feedback import examples
from services.feedback.api import (
    WRITE_ERRORS,
    FeedbackRequest,
    GoalClosingRequest,
    GoalsRequest,
    NoteAnswerRequest,
    NoteRequest,
)
from services.feedback.erasure import GONE, ClientErased
from services.feedback.event_store import Publication, publish_all
from services.feedback.idempotency import EventIds, IdempotencyKeyHeader, StoredAnswer
from services.feedback.intake import answer_once
from services.feedback.rate_limit import IngestClinic
from services.feedback.sealing import Outgoing
from shared.contracts import (
    FEEDBACK_SUBMITTED,
    GOAL_CLOSED,
    GOALS_AGREED,
    NOTE_ANSWERED,
    NOTE_SHARED,
    SESSION_COMPLETED,
    EventKind,
    SessionCompletedV1,
)

MAX_ITEMS = 500
KINDS = (
    "session.completed",
    "feedback.submitted",
    "note.shared",
    "note.answered",
    "goals.agreed",
    "goal.closed",
)
router = APIRouter(prefix="/v1", tags=["intake"])


class SessionItem(BaseModel):
    type: Literal["session.completed"]
    data: SessionCompletedV1

    def event(self, at: datetime) -> tuple[EventKind[Any], Any]:
        return SESSION_COMPLETED, self.data


class FeedbackItem(BaseModel):
    type: Literal["feedback.submitted"]
    data: FeedbackRequest

    def event(self, at: datetime) -> tuple[EventKind[Any], Any]:
        return FEEDBACK_SUBMITTED, self.data.to_event_data(at)


class NoteItem(BaseModel):
    type: Literal["note.shared"]
    data: NoteRequest

    def event(self, at: datetime) -> tuple[EventKind[Any], Any]:
        return NOTE_SHARED, self.data.to_event_data(at)


class NoteAnswerItem(BaseModel):
    type: Literal["note.answered"]
    data: NoteAnswerRequest

    def event(self, at: datetime) -> tuple[EventKind[Any], Any]:
        return NOTE_ANSWERED, self.data.to_event_data(at)


class GoalsItem(BaseModel):
    type: Literal["goals.agreed"]
    data: GoalsRequest

    def event(self, at: datetime) -> tuple[EventKind[Any], Any]:
        return GOALS_AGREED, self.data.to_event_data(at)


class GoalClosingItem(BaseModel):
    type: Literal["goal.closed"]
    data: GoalClosingRequest

    def event(self, at: datetime) -> tuple[EventKind[Any], Any]:
        return GOAL_CLOSED, self.data.to_event_data(at)


Item = SessionItem | FeedbackItem | NoteItem | NoteAnswerItem | GoalsItem | GoalClosingItem
ITEM = TypeAdapter[Item](Annotated[Item, Field(discriminator="type")])


class BatchRequest(BaseModel):
    events: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description=(
            'Up to 500 items, each `{"type": "session.completed" | "feedback.submitted" | "note.shared" | '
            '"note.answered" | "goals.agreed" | "goal.closed", "data": {...}}` with `data` exactly as for '
            "POST /v1/sessions, POST /v1/feedback, POST /v1/notes, POST /v1/goals or POST /v1/goal-closings "
            "(a client's answer to a note: note_id, session_id, therapist_id, client_id, session_at, fit, "
            "comment). Each is validated on its own."
        ),
    )


class ItemProblem(BaseModel):
    field: str = Field(description="Where the problem is, e.g. `data.items.goals`.")
    reason: str


class ItemResult(BaseModel):
    index: int = Field(description="Position of the item in the request.")
    status: Literal["accepted", "rejected", "unavailable"]
    id: str | None = Field(default=None, description="Event id, for an accepted item.")
    errors: list[ItemProblem] = Field(default_factory=list, description="Why a rejected item was rejected.")


class BatchAnswer(BaseModel):
    accepted: int
    rejected: int
    unavailable: int = Field(description="Items Kafka did not acknowledge; resend them (the answer is 503).")
    results: list[ItemResult]


@router.post(
    "/events:batch",
    response_model=BatchAnswer,
    responses=WRITE_ERRORS,
    summary="Submit up to 500 sessions, ratings, notes and goals; each item answered individually",
)
async def submit_batch(
    body: Annotated[BatchRequest, Body(openapi_examples=examples.BATCH)],
    clinic: IngestClinic,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    async def work(ids: EventIds) -> StoredAnswer:
        return await _accept_batch(request, body.events, ids)

    return await answer_once(request, clinic, idempotency_key, work, _clients_named(body.events))


def _clients_named(items: list[dict[str, Any]]) -> set[str]:
    """Every client id the items name, valid or not: an erasure of any of them removes the batch's record."""
    named = (item.get("data") for item in items)
    return {
        data["client_id"]
        for data in named
        if isinstance(data, dict) and isinstance(data.get("client_id"), str)
    }


async def _accept_batch(request: Request, items: list[dict[str, Any]], ids: EventIds) -> StoredAnswer:
    results: list[ItemResult] = []
    valid: list[tuple[int, EventKind[Any], Any]] = []
    for index, raw in enumerate(items):
        try:
            item = ITEM.validate_python(raw)
        except ValidationError as invalid:
            results.append(ItemResult(index=index, status="rejected", errors=_problems(invalid)))
            continue
        valid.append((index, *item.event(ids.moment)))
        results.append(ItemResult(index=index, status="accepted"))
    outgoing: Outgoing = request.app.state.outgoing
    await outgoing.fetch_keys(ids.clinic_id, [(kind, data) for _, kind, data in valid])
    publications: list[tuple[int, Publication]] = []
    for index, kind, data in valid:
        try:
            event = await outgoing.event(
                kind,
                data,
                clinic_id=ids.clinic_id,
                source=f"/clinics/{ids.clinic_id}/http-batch",
                event_id=ids.for_item(index),
                time=ids.moment,
            )
        except ClientErased:
            erased = ItemProblem(field="data.client_id", reason=GONE)
            results[index] = ItemResult(index=index, status="rejected", errors=[erased])
            continue
        publications.append((index, (kind, event)))
        results[index] = ItemResult(index=index, status="accepted", id=event.id)
    acknowledged = await publish_all(request.app.state.broker, [p for _, p in publications])
    for (index, _), ok in zip(publications, acknowledged, strict=True):
        if not ok:
            results[index] = ItemResult(index=index, status="unavailable")
    answer = BatchAnswer(
        accepted=sum(r.status == "accepted" for r in results),
        rejected=sum(r.status == "rejected" for r in results),
        unavailable=sum(r.status == "unavailable" for r in results),
        results=results,
    )
    code = status.HTTP_503_SERVICE_UNAVAILABLE if answer.unavailable else status.HTTP_200_OK
    return StoredAnswer(code, answer.model_dump(mode="json"))


def _problems(invalid: ValidationError) -> list[ItemProblem]:
    # Location and message only: the input may hold a client's comment.
    problems = []
    for error in invalid.errors():
        location = list(error["loc"])
        if (
            location and location[0] in KINDS
        ):  # pydantic puts the union's tag first; the caller never wrote it
            location = location[1:]
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            location = ["type"]
        problems.append(ItemProblem(field=".".join(str(p) for p in location) or "item", reason=error["msg"]))
    return problems
