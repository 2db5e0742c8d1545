"""Signed, expiring links to the clinician views, minted by scoring (on request) and by notify (in alerts).

A link names a clinic, a view (one client, or one therapist's caseload) and the therapist it is for; opening
it at ``{public_url}/views/links/{token}`` starts a view session limited to what it names. Both services sign
with the same secret (``SCORING_VIEW_SECRET``).
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer

LINK_SALT = "alliance.views.link"
LinkView = Literal["client", "caseload"]


@dataclass(frozen=True)
class ViewLink:
    """What a signed link grants: ``therapist_id`` may open ``view`` of ``subject`` in ``clinic_id``."""

    clinic_id: str
    view: LinkView
    subject: str  # the client id, or the therapist id of the caseload
    therapist_id: str
    issued_by: str  # key id of the key that asked for the link, or the minting service


class ViewLinks:
    def __init__(self, secret: str, public_url: str, max_age_days: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=LINK_SALT)
        self._public_url = public_url.rstrip("/")
        self.max_age = timedelta(days=max_age_days)

    def url(self, link: ViewLink) -> str:
        token = self._serializer.dumps(
            [link.clinic_id, link.view, link.subject, link.therapist_id, link.issued_by]
        )
        return f"{self._public_url}/views/links/{token}"

    def read(self, token: str) -> ViewLink | None:
        """The link of a valid, unexpired token; None for anything else."""
        try:
            clinic_id, view, subject, therapist_id, issued_by = self._serializer.loads(
                token, max_age=int(self.max_age.total_seconds())
            )
        except (BadSignature, ValueError, TypeError):
            return None
        if view not in ("client", "caseload"):
            return None
        return ViewLink(str(clinic_id), view, str(subject), str(therapist_id), str(issued_by))
