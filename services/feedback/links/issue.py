"""POST /v1/feedback-links: a signed, expiring, single-use link for one client to rate one session."""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Request, status
from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field

from services.feedback.api import WRITE_ERRORS
from services.feedback.erasure import gone
from services.feedback.links.tokens import LinkInstrument, LinkSigner
from services.feedback.rate_limit import IngestClinic
from services.feedback.settings import FeedbackSettings
from shared.contracts.fields import OpaqueId, Timestamp
from shared.privacy.plumbing import Privacy

router = APIRouter(prefix="/v1", tags=["feedback links"])
FORM_PATH = "/f/"


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: OpaqueId = Field(description="Pseudonym of the client who will rate.")
    therapist_id: OpaqueId
    session_id: OpaqueId
    session_at: Timestamp = Field(description="The session's occurred_at.")
    instrument: LinkInstrument = Field(
        default="srs",
        description=(
            "Which form the client sees: srs, ors, or gbo (the client's own active goals as of the session, "
            "each rated 0-10)."
        ),
    )
    expires_in_hours: int | None = Field(
        default=None, ge=1, le=24 * 30, description="Lifetime of the link; the service default when absent."
    )


class IssuedLink(BaseModel):
    url: str = Field(description="Send this to the client; it works once, until expires_at.")
    link_id: str
    expires_at: datetime


EXAMPLES = {
    "srs": Example(
        summary="An SRS link for the end of session s-104",
        value={
            "client_id": "c-311",
            "therapist_id": "t-7",
            "session_id": "s-104",
            "session_at": "2026-11-20T10:00:00+00:00",
            "instrument": "srs",
        },
    ),
    "gbo": Example(
        summary="A link for the client to rate their goals at session s-104",
        value={
            "client_id": "c-311",
            "therapist_id": "t-7",
            "session_id": "s-104",
            "session_at": "2026-11-20T10:00:00+00:00",
            "instrument": "gbo",
        },
    ),
}


@router.post(
    "/feedback-links",
    status_code=status.HTTP_201_CREATED,
    responses={code: WRITE_ERRORS[code] for code in (401, 403, 410, 413, 422, 429)},
    summary="Issue a signed, single-use feedback link for one client and session",
)
async def issue_link(
    body: Annotated[LinkRequest, Body(openapi_examples=EXAMPLES)], clinic: IngestClinic, request: Request
) -> IssuedLink:
    settings: FeedbackSettings = request.app.state.settings
    signer: LinkSigner = request.app.state.link_signer
    privacy: Privacy = request.app.state.privacy
    if privacy.erased.contains(clinic.clinic_id, body.client_id):
        raise gone(request)
    link, token = signer.issue(
        clinic_id=clinic.clinic_id,
        client_id=body.client_id,
        therapist_id=body.therapist_id,
        session_id=body.session_id,
        session_at=body.session_at,
        instrument=body.instrument,
        lifetime=timedelta(hours=body.expires_in_hours or settings.link_hours),
    )
    url = settings.public_url.rstrip("/") + FORM_PATH + token
    return IssuedLink(url=url, link_id=link.link_id, expires_at=link.expires_at)
