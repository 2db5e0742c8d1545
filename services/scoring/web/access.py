"""Who may see what: signed view links, the session cookie they (or a sign-in) give, and CSRF tokens.

A **view link** names a clinic, a view (one client, or one therapist's caseload) and the therapist it is for.
It is signed with itsdangerous and expires. Opening it starts a **view session** limited to what the link
names. A supervisor signs in with a clinic key carrying the ``read`` scope and gets a clinic-wide session.
The session lives in a signed, expiring, HttpOnly, SameSite=Strict cookie; each carries its own CSRF token,
which every form posts back. The links themselves live in ``shared.view_links``: notify mints them too.
"""

import hmac
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer

from shared.view_links import ViewLink, ViewLinks

__all__ = ["COOKIE", "SessionCookies", "ViewLink", "ViewLinks", "ViewSession"]

SESSION_SALT = "alliance.views.session"
COOKIE = "alliance_view"
Role = Literal["anonymous", "therapist", "supervisor"]


@dataclass(frozen=True)
class ViewSession:
    """The signed-in state a cookie carries.

    ``client_id`` / ``caseload_of`` limit a link's session to what its link named; a supervisor's session has
    neither and sees the whole clinic. ``actor`` is who acts (the therapist of a link, the id a supervisor
    gave), ``key_id`` the key behind it (which issued the link, or which signed in).
    """

    role: Role
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    clinic_id: str = ""
    actor: str = ""
    key_id: str = ""
    client_id: str | None = None
    caseload_of: str | None = None
    can_resolve: bool = False

    @classmethod
    def anonymous(cls) -> "ViewSession":
        return cls(role="anonymous")

    @classmethod
    def of_link(cls, link: ViewLink) -> "ViewSession":
        return cls(
            role="therapist",
            clinic_id=link.clinic_id,
            actor=link.therapist_id,
            key_id=link.issued_by,
            client_id=link.subject if link.view == "client" else None,
            caseload_of=link.subject if link.view == "caseload" else None,
            can_resolve=True,  # the therapist of the client is the clinician who may close an episode
        )

    @property
    def signed_in(self) -> bool:
        return self.role != "anonymous" and bool(self.clinic_id)

    @property
    def who(self) -> str:
        """For the audit log: the role and the person."""
        return f"{self.role}:{self.actor}"

    def may_see_client(self, client_id: str, therapist_id: str | None) -> bool:
        if not self.signed_in:
            return False
        if self.role == "supervisor":
            return True
        if self.client_id is not None:
            return client_id == self.client_id
        return self.caseload_of is not None and therapist_id == self.caseload_of

    def may_see_caseload(self, therapist_id: str) -> bool:
        return self.role == "supervisor" or (self.signed_in and self.caseload_of == therapist_id)

    def csrf_matches(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


class SessionCookies:
    def __init__(self, secret: str, max_age_hours: int, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=SESSION_SALT)
        self.max_age = timedelta(hours=max_age_hours)
        self.secure = secure

    def dump(self, session: ViewSession) -> str:
        return self._serializer.dumps(asdict(session))

    def load(self, value: str | None) -> ViewSession | None:
        if not value:
            return None
        try:
            data: dict[str, Any] = self._serializer.loads(value, max_age=int(self.max_age.total_seconds()))
            return ViewSession(**data)
        except (BadSignature, TypeError, ValueError):
            return None

    def expires_at(self) -> datetime:
        return datetime.now(UTC) + self.max_age
