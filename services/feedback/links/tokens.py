"""A feedback link's token: who and what it is for, signed and carrying its own expiry (``shared.signed``).

The token is the whole state of an unused link, so nothing is stored when a link is issued; only its use is
(see ``used``). Anyone holding the link can rate that one session once, nothing else.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from shared.contracts.fields import OpaqueId, Timestamp
from shared.signed import Expiring, Sealer
from shared.signed import TokenExpired as LinkExpired
from shared.signed import TokenTampered as LinkTampered

__all__ = ["FeedbackLink", "LinkExpired", "LinkInstrument", "LinkSigner", "LinkTampered"]

SALT = "alliance.feedback-link.v1"
# The forms a link can open: the client's SRS or ORS, or their ratings of their own goals (gbo).
LinkInstrument = Literal["srs", "ors", "gbo"]


class FeedbackLink(Expiring):
    link_id: str
    clinic_id: OpaqueId
    client_id: OpaqueId
    therapist_id: OpaqueId
    session_id: OpaqueId
    session_at: Timestamp
    instrument: LinkInstrument
    back_url: str | None = (
        None  # the client's own page, when the link was opened from it: "thank you" links back
    )


class LinkSigner:
    def __init__(self, secret: str) -> None:
        self._sealer = Sealer(FeedbackLink, secret, SALT)

    def issue(
        self,
        *,
        clinic_id: str,
        client_id: str,
        therapist_id: str,
        session_id: str,
        session_at: datetime,
        instrument: LinkInstrument,
        lifetime: timedelta,
        link_id: str | None = None,
        back_url: str | None = None,
    ) -> tuple[FeedbackLink, str]:
        """A new link; ``link_id`` fixed by the caller makes every link issued for the same thing one link
        (used once between them), random otherwise."""
        link = FeedbackLink(
            link_id=link_id or uuid.uuid4().hex,
            clinic_id=clinic_id,
            client_id=client_id,
            therapist_id=therapist_id,
            session_id=session_id,
            session_at=session_at,
            instrument=instrument,
            expires_at=datetime.now(UTC).replace(microsecond=0) + lifetime,
            back_url=back_url,
        )
        return link, self._sealer.seal(link)

    def open(self, token: str, now: datetime | None = None) -> FeedbackLink:
        return self._sealer.open(token, now)
