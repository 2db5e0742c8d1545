"""HTTP intake: each request is validated by the contract, published, and answered only after Kafka has it."""

from datetime import UTC, datetime
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from shared.auth import ClinicPrincipal, Scope, require_scope
from shared.contracts import (
    FEEDBACK_SUBMITTED,
    SESSION_COMPLETED,
    CloudEvent,
    EventKind,
    FeedbackSubmittedV1,
    SessionCompletedV1,
)
from shared.contracts.fields import Timestamp
from shared.messaging import publish_event

RETRY_AFTER_SECONDS = "5"
router = APIRouter(prefix="/v1", tags=["intake"])


class FeedbackRequest(FeedbackSubmittedV1):
    """A rating as clients send it: ``submitted_at`` is set by the server when absent."""

    submitted_at: Timestamp | None = Field(default=None, description="Set by the server when absent.")  # type: ignore[assignment]


class Accepted(BaseModel):
    id: str = Field(description="Id of the event the submission became; Kafka has durably stored it.")


ClinicDep = Annotated[ClinicPrincipal, Depends(require_scope(Scope.INGEST))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked API key"},
    403: {"description": "The key lacks the 'ingest' scope"},
    503: {
        "description": "Kafka did not acknowledge the write; nothing was stored. Retry after the header's delay."
    },
}


@router.post("/sessions", status_code=status.HTTP_202_ACCEPTED, responses=ERRORS, summary="Record a session")
async def submit_session(body: SessionCompletedV1, clinic: ClinicDep, request: Request) -> Accepted:
    return await _publish(request, SESSION_COMPLETED, body, clinic, body.client_id)


@router.post("/feedback", status_code=status.HTTP_202_ACCEPTED, responses=ERRORS, summary="Submit a rating")
async def submit_feedback(body: FeedbackRequest, clinic: ClinicDep, request: Request) -> Accepted:
    data = FeedbackSubmittedV1.model_validate(
        {**body.model_dump(), "submitted_at": body.submitted_at or datetime.now(UTC)}
    )
    return await _publish(request, FEEDBACK_SUBMITTED, data, clinic, body.client_id)


async def _publish(
    request: Request, kind: EventKind[Any], data: Any, clinic: ClinicPrincipal, client_id: str
) -> Accepted:
    event: CloudEvent[Any] = kind.envelope(
        data, clinic_id=clinic.clinic_id, client_id=client_id, source=f"/clinics/{clinic.clinic_id}/http"
    )
    try:
        await publish_event(request.app.state.broker, kind, event)
    except (KafkaError, TimeoutError) as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the event store is unavailable; nothing was stored",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        ) from error
    return Accepted(id=event.id)
