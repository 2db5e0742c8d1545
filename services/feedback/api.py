"""HTTP intake of single events: validated by the contract, published, answered only after Kafka has it.

Callers send a person's words as plain text: the request models are the version 1 contracts (their words in
the clear, their limits). What reaches Kafka is the latest version, the words sealed for the event's id
(``services.feedback.sealing``); an erased client's event is refused with 410.
"""

from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.feedback import examples
from services.feedback.event_store import publish_one
from services.feedback.idempotency import EventIds, IdempotencyKeyHeader, StoredAnswer
from services.feedback.intake import answer_once
from services.feedback.rate_limit import IngestClinic
from services.feedback.sealing import Outgoing
from shared.contracts import (
    FEEDBACK_SUBMITTED,
    GOAL_CLOSED,
    GOALS_AGREED,
    NOTE_SHARED,
    SESSION_COMPLETED,
    EventKind,
    FeedbackSubmittedV1,
    GoalClosedV1,
    GoalsAgreedV1,
    NoteAnsweredV1,
    NoteSharedV1,
    SessionCompletedV1,
)
from shared.contracts.fields import Timestamp

router = APIRouter(prefix="/v1", tags=["intake"])
C = TypeVar("C", bound=BaseModel)


def stamped(contract: type[C], request: BaseModel, moment: str, at: datetime) -> C:
    """The event data of ``request``, with its ``moment`` set to ``at`` (the request's) when the caller left it
    out.

    Not validated again: the request was validated by the contract's own rules (it is the contract, but for a
    moment it may leave out, and the server's moment is a valid one), and the event is validated once more, as
    the latest version, when it is sealed (``Words.sealed``)."""
    fields = dict(request)
    return contract.model_construct(**{**fields, moment: fields[moment] or at})


class FeedbackRequest(FeedbackSubmittedV1):
    """A rating as clients send it: ``submitted_at`` is set by the server when absent."""

    submitted_at: Timestamp | None = Field(default=None, description="Set by the server when absent.")  # type: ignore[assignment]

    def to_event_data(self, at: datetime) -> FeedbackSubmittedV1:
        return stamped(FeedbackSubmittedV1, self, "submitted_at", at)


class NoteRequest(NoteSharedV1):
    """A note as systems send it: ``shared_at`` is set by the server when absent."""

    shared_at: Timestamp | None = Field(default=None, description="Set by the server when absent.")  # type: ignore[assignment]

    def to_event_data(self, at: datetime) -> NoteSharedV1:
        return stamped(NoteSharedV1, self, "shared_at", at)


class NoteAnswerRequest(NoteAnsweredV1):
    """A client's answer as systems import it: ``answered_at`` is set by the server when absent."""

    answered_at: Timestamp | None = Field(default=None, description="Set by the server when absent.")  # type: ignore[assignment]

    def to_event_data(self, at: datetime) -> NoteAnsweredV1:
        return stamped(NoteAnsweredV1, self, "answered_at", at)


class GoalsRequest(GoalsAgreedV1):
    """Goals as systems send them: ``agreed_at`` is set by the server when absent."""

    agreed_at: Timestamp | None = Field(default=None, description="Set by the server when absent.")  # type: ignore[assignment]

    def to_event_data(self, at: datetime) -> GoalsAgreedV1:
        return stamped(GoalsAgreedV1, self, "agreed_at", at)


class GoalClosingRequest(GoalClosedV1):
    """A goal's end as systems send it: ``closed_at`` is set by the server when absent."""

    closed_at: Timestamp | None = Field(default=None, description="Set by the server when absent.")  # type: ignore[assignment]

    def to_event_data(self, at: datetime) -> GoalClosedV1:
        return stamped(GoalClosedV1, self, "closed_at", at)


class Accepted(BaseModel):
    id: str = Field(description="Id of the event the submission became; Kafka has durably stored it.")


WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked API key"},
    403: {"description": "The key lacks the 'ingest' scope"},
    409: {"description": "A request with the same Idempotency-Key is still being processed"},
    413: {"description": "Body over 64 KiB (1 MiB for a batch)"},
    422: {
        "description": "Invalid body (each bad field named), or an Idempotency-Key reused for another body"
    },
    410: {
        "description": "The client was erased: no event of theirs is taken; a returning client needs a new id"
    },
    429: {"description": "Request budget of this API key spent; retry after the Retry-After header"},
    503: {"description": "Kafka did not acknowledge the write; nothing was stored. Retry after Retry-After."},
}


@router.post(
    "/sessions",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=WRITE_ERRORS,
    summary="Record a session",
)
async def submit_session(
    body: Annotated[SessionCompletedV1, Body(openapi_examples=examples.SESSIONS)],
    clinic: IngestClinic,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    return await answer_once(
        request,
        clinic,
        idempotency_key,
        lambda ids: _publish(request, SESSION_COMPLETED, body, ids),
        (body.client_id,),
    )


@router.post(
    "/feedback",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=WRITE_ERRORS,
    summary=(
        "Submit a rating (SRS, ORS, WAI-SR, a rupture report or goal ratings; by the client or the therapist)"
    ),
)
async def submit_feedback(
    body: Annotated[FeedbackRequest, Body(openapi_examples=examples.FEEDBACK)],
    clinic: IngestClinic,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    return await answer_once(
        request,
        clinic,
        idempotency_key,
        lambda ids: _publish(request, FEEDBACK_SUBMITTED, body.to_event_data(ids.moment), ids),
        (body.client_id,),
    )


@router.post(
    "/notes",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=WRITE_ERRORS,
    summary="Share a note about a session with the client",
)
async def share_note(
    body: Annotated[NoteRequest, Body(openapi_examples=examples.NOTES)],
    clinic: IngestClinic,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """What the therapist and client worked on and the next steps, for the client's own page, where the client
    answers whether the next steps fit what they want from therapy. The text is sensitive: stored, shown to
    the client and the clinic's readers, never logged, e-mailed or sent by webhook."""
    return await answer_once(
        request,
        clinic,
        idempotency_key,
        lambda ids: _publish(request, NOTE_SHARED, body.to_event_data(ids.moment), ids),
        (body.client_id,),
    )


@router.post(
    "/goals",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=WRITE_ERRORS,
    summary="Set or revise the goals the client and therapist agreed (up to 3)",
)
async def agree_goals(
    body: Annotated[GoalsRequest, Body(openapi_examples=examples.GOALS)],
    clinic: IngestClinic,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """The client's active goals from this session on, in order: a gbo rating's `goal_1` rates the first, and so
    on. A revision replaces the whole list. The texts are the client's words and sensitive: stored, shown to the
    client on their gbo form and to the clinic's readers, never logged, e-mailed or sent by webhook."""
    return await answer_once(
        request,
        clinic,
        idempotency_key,
        lambda ids: _publish(request, GOALS_AGREED, body.to_event_data(ids.moment), ids),
        (body.client_id,),
    )


@router.post(
    "/goal-closings",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=WRITE_ERRORS,
    summary="Close one of the client's goals (met, dropped or replaced)",
)
async def close_goal(
    body: Annotated[GoalClosingRequest, Body(openapi_examples=examples.GOAL_CLOSINGS)],
    clinic: IngestClinic,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """The goal ends after this session (its ratings in this session still count). Its slot stays empty until
    goals are agreed again, so that `goal_2` never silently comes to mean another goal."""
    return await answer_once(
        request,
        clinic,
        idempotency_key,
        lambda ids: _publish(request, GOAL_CLOSED, body.to_event_data(ids.moment), ids),
        (body.client_id,),
    )


async def _publish(request: Request, kind: EventKind[Any], data: Any, ids: EventIds) -> StoredAnswer:
    clinic_id = ids.clinic_id
    outgoing: Outgoing = request.app.state.outgoing
    event = await outgoing.event(
        kind,
        data,
        clinic_id=clinic_id,
        source=f"/clinics/{clinic_id}/http",
        event_id=ids.for_item(),
        time=ids.moment,
    )
    await publish_one(request.app.state.broker, kind, event)
    return StoredAnswer(status.HTTP_202_ACCEPTED, {"id": event.id})
