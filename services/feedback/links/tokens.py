"""A feedback link's token: who and what it is for, signed (itsdangerous) and carrying its own expiry.

The token is the whole state of an unused link, so nothing is stored when a link is issued; only its use is
(see ``used``). Anyone holding the link can rate that one session once, nothing else.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.contracts.fields import OpaqueId, Timestamp

SALT = "alliance.feedback-link.v1"


class LinkTampered(Exception):
    """Not a token this service signed (altered, truncated or signed with another secret)."""


class LinkExpired(Exception):
    pass


class FeedbackLink(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    link_id: str
    clinic_id: OpaqueId
    client_id: OpaqueId
    therapist_id: OpaqueId
    session_id: OpaqueId
    session_at: Timestamp
    instrument: Literal["srs", "ors"]
    expires_at: Timestamp


class LinkSigner:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SALT)

    def issue(
        self,
        *,
        clinic_id: str,
        client_id: str,
        therapist_id: str,
        session_id: str,
        session_at: datetime,
        instrument: Literal["srs", "ors"],
        lifetime: timedelta,
    ) -> tuple[FeedbackLink, str]:
        link = FeedbackLink(
            link_id=uuid.uuid4().hex,
            clinic_id=clinic_id,
            client_id=client_id,
            therapist_id=therapist_id,
            session_id=session_id,
            session_at=session_at,
            instrument=instrument,
            expires_at=datetime.now(UTC).replace(microsecond=0) + lifetime,
        )
        return link, self._serializer.dumps(link.model_dump(mode="json"))

    def open(self, token: str, now: datetime | None = None) -> FeedbackLink:
        try:
            link = FeedbackLink.model_validate(self._serializer.loads(token))
        except (BadSignature, ValidationError, ValueError, TypeError):
            raise LinkTampered from None
        if link.expires_at <= (now or datetime.now(UTC)):
            raise LinkExpired
        return link
