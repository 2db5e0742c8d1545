"""The client's own page (DOMAIN.md version 2): one signed link per client, and the tickets the page hands out.

Scoring serves the page, since it holds what the page shows (the client's SRS and ORS, the therapist's shared
notes): ``{SCORING_PUBLIC_URL}/c/{token}``. What the client does there goes through the feedback intake like every
other event: each note's answer form posts to ``{FEEDBACK_PUBLIC_URL}/c/answers/{ticket}``, and "rate my latest
session" opens ``{FEEDBACK_PUBLIC_URL}/c/rate/{ticket}``, which leads to that session's feedback form. A ticket
names exactly what its one action needs and expires with the page link it was made for. Scoring signs, feedback
opens, notify issues page links to send: the three share ``CLIENT_PAGE_SECRET``.
"""

import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.contracts.fields import OpaqueId, Timestamp
from shared.signed import Expiring, Sealer

DEV_SECRET = "dev-client-page-secret-change-me"
PAGE_PATH = "/c/"
ANSWER_PATH = "/c/answers/"
RATE_PATH = "/c/rate/"


class ClientPageSettings(BaseSettings):
    """Read by scoring, feedback and notify alike (from the environment; tests give them by name)."""

    model_config = SettingsConfigDict(extra="ignore", validate_by_name=True, validate_by_alias=True)

    secret: SecretStr = Field(
        default=SecretStr(DEV_SECRET),
        validation_alias=AliasChoices("CLIENT_PAGE_SECRET"),
        description="Signs the clients' page links and the page's tickets; the same in scoring, feedback, notify.",
    )
    page_url: str = Field(
        default="http://127.0.0.1:8002",
        validation_alias=AliasChoices("SCORING_PUBLIC_URL"),
        description="Base URL of the scoring service as browsers reach it: clients' pages are served there.",
    )
    intake_url: str = Field(
        default="http://127.0.0.1:8001",
        validation_alias=AliasChoices("FEEDBACK_PUBLIC_URL"),
        description="Base URL of the feedback service as browsers reach it: the page's answers go there.",
    )
    days: int = Field(
        default=30,
        ge=1,
        le=365,
        validation_alias=AliasChoices("CLIENT_PAGE_DAYS"),
        description="How long a client's page link opens when the request does not say.",
    )


class ClientPageLink(Expiring):
    """One client's page: anyone holding it sees that client's page until it expires."""

    link_id: str
    clinic_id: OpaqueId
    client_id: OpaqueId


class AnswerTicket(Expiring):
    """Lets the holder answer one shared note, as its client."""

    clinic_id: OpaqueId
    client_id: OpaqueId
    note_id: OpaqueId
    session_id: OpaqueId
    therapist_id: OpaqueId
    session_at: Timestamp
    page_url: str  # where the client goes back to once the answer is sent
    nonce: str  # one per page shown: a form sent twice is one answer, an answer changed later is another


class RatingTicket(Expiring):
    """Lets the holder rate one session with the SRS, as its client."""

    clinic_id: OpaqueId
    client_id: OpaqueId
    therapist_id: OpaqueId
    session_id: OpaqueId
    session_at: Timestamp
    page_url: str


class ClientPages:
    def __init__(self, settings: ClientPageSettings) -> None:
        secret = settings.secret.get_secret_value()
        if secret == DEV_SECRET:
            logging.getLogger("alliance.client_pages").warning(
                "CLIENT_PAGE_SECRET is not set: clients' page links are signed with the public development "
                "secret, so anyone can forge them. Set it (the same in scoring, feedback and notify) before "
                "real clients get links."
            )
        self.settings = settings
        self.pages = Sealer(ClientPageLink, secret, "alliance.client-page.v1")
        self.answers = Sealer(AnswerTicket, secret, "alliance.client-page.answer.v1")
        self.ratings = Sealer(RatingTicket, secret, "alliance.client-page.rating.v1")

    def issue(self, clinic_id: str, client_id: str, days: int | None = None) -> tuple[ClientPageLink, str]:
        """A new page link for one client and its URL."""
        expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days or self.settings.days)
        link = ClientPageLink(
            link_id=uuid.uuid4().hex, clinic_id=clinic_id, client_id=client_id, expires_at=expires_at
        )
        return link, self.page_url(self.pages.seal(link))

    def page_url(self, token: str) -> str:
        return self.settings.page_url.rstrip("/") + PAGE_PATH + token

    def answer_url(
        self,
        link: ClientPageLink,
        page_url: str,
        *,
        note_id: str,
        session_id: str,
        therapist_id: str,
        session_at: datetime,
    ) -> str:
        ticket = AnswerTicket(
            clinic_id=link.clinic_id,
            client_id=link.client_id,
            note_id=note_id,
            session_id=session_id,
            therapist_id=therapist_id,
            session_at=session_at,
            page_url=page_url,
            nonce=secrets.token_urlsafe(9),
            expires_at=link.expires_at,
        )
        return self.settings.intake_url.rstrip("/") + ANSWER_PATH + self.answers.seal(ticket)

    def rating_url(
        self, link: ClientPageLink, page_url: str, *, session_id: str, therapist_id: str, session_at: datetime
    ) -> str:
        ticket = RatingTicket(
            clinic_id=link.clinic_id,
            client_id=link.client_id,
            therapist_id=therapist_id,
            session_id=session_id,
            session_at=session_at,
            page_url=page_url,
            expires_at=link.expires_at,
        )
        return self.settings.intake_url.rstrip("/") + RATE_PATH + self.ratings.seal(ticket)
