"""A clinic's routing: who hears about which rupture, through which channels, and when; where the links to
its clients' own pages go after a shared note; and which secrets sign the webhooks to each destination.

Pure: the models the routing API stores and the decisions made from them (recipients, alert threshold,
quiet hours). No I/O here.
"""

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Annotated, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.notify.alert import Recipient, RecipientKind, at_least
from services.notify.webhook_secrets import WebhookSecret, WebhookSecrets
from shared.contracts import Severity
from shared.contracts.fields import OpaqueId

EmailAddress = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class Routed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelSet(Routed):
    """One person's channels; any of them may be absent."""

    email: EmailAddress | None = Field(default=None, description="Where alert e-mails go.")
    webhook_url: AnyHttpUrl | None = Field(default=None, description="Where alert webhooks are POSTed.")
    slack: bool = Field(default=False, description="The webhook is a Slack-compatible incoming webhook.")
    webhook_secrets: WebhookSecrets | None = Field(
        default=None, description="This person's own webhook secrets; without them the clinic's sign."
    )

    @model_validator(mode="after")
    def _secrets_sign_a_webhook(self) -> Self:
        if self.webhook_secrets and self.webhook_url is None:
            raise ValueError("webhook_secrets sign webhooks: give a webhook_url with them")
        return self

    def recipients(self, kind: RecipientKind, recipient_id: str) -> list[Recipient]:
        found = []
        if self.email:
            found.append(Recipient(kind, recipient_id, "email", self.email))
        if self.webhook_url:
            found.append(Recipient(kind, recipient_id, "webhook", str(self.webhook_url), self.slack))
        return found


class TherapistRoute(ChannelSet):
    therapist_id: OpaqueId

    @property
    def route_id(self) -> str:
        return self.therapist_id


class Supervisor(ChannelSet):
    supervisor_id: OpaqueId

    @property
    def route_id(self) -> str:
        return self.supervisor_id


class QuietHours(Routed):
    """Local wall-clock hours in which alerts below high wait; may span midnight (22:00–07:00)."""

    start: time
    end: time

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ValueError("quiet hours need different start and end")
        return self


class ClientPageRoute(Routed):
    """Where notify hands each client's page link after a shared note: the clinic's own system, which alone
    knows how to reach the client (the platform holds pseudonyms only)."""

    webhook_url: AnyHttpUrl = Field(description="The clinic's receiver of client page links (signed POSTs).")
    days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description="How long each link opens; CLIENT_PAGE_DAYS (30) when absent.",
    )
    webhook_secrets: WebhookSecrets | None = Field(
        default=None, description="The receiver's own webhook secrets; without them the clinic's sign."
    )


class ClinicRouting(Routed):
    """Everything notify needs to know about one clinic. Stored by ``PUT /v1/routing``."""

    timezone: str = Field(default="UTC", description="IANA time zone of the clinic, e.g. Europe/Berlin.")
    # Sequences: the answered view narrows each route to its view (services/notify/api.py).
    therapists: Sequence[TherapistRoute] = Field(default_factory=list)
    supervisors: Sequence[Supervisor] = Field(default_factory=list)
    min_severity: Severity = Field(default=Severity.MEDIUM, description="The lowest severity that alerts.")
    quiet_hours: QuietHours | None = None
    ack_deadline_hours: float = Field(
        default=48.0,
        gt=0,
        le=24 * 30,
        description="Unacknowledged alerts escalate to supervisors after this.",
    )
    webhook_secrets: WebhookSecrets | None = Field(
        default=None,
        description="Sign the webhooks of every destination without secrets of its own; without them "
        "NOTIFY_WEBHOOK_SECRET signs.",
    )
    webhook_secret: WebhookSecret | None = Field(
        default=None,
        description="Deprecated: one secret, as `webhook_secrets: [secret]`, which may also be a plain one "
        "(write-only). Give one of the two fields, not both.",
        json_schema_extra={"deprecated": True, "writeOnly": True},
    )
    client_page: ClientPageRoute | None = Field(
        default=None,
        description="Send each client the link to their own page after every note shared with them, through "
        "the clinic's system; absent: no link is sent.",
    )

    @model_validator(mode="after")
    def _one_secrets_field(self) -> Self:
        if self.webhook_secret is not None and self.webhook_secrets is not None:
            raise ValueError("give webhook_secrets or the deprecated webhook_secret, not both")
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @field_validator("therapists")
    @classmethod
    def _one_route_each(cls, routes: Sequence[TherapistRoute]) -> Sequence[TherapistRoute]:
        if len({route.therapist_id for route in routes}) != len(routes):
            raise ValueError("each therapist may appear once")
        return routes

    @property
    def ack_deadline(self) -> timedelta:
        return timedelta(hours=self.ack_deadline_hours)

    def alerts_at(self, severity: Severity) -> bool:
        return at_least(severity, self.min_severity)

    def therapist_recipients(self, therapist_id: str) -> list[Recipient]:
        route = next((r for r in self.therapists if r.therapist_id == therapist_id), None)
        return route.recipients("therapist", therapist_id) if route else []

    def supervisor_recipients(self) -> list[Recipient]:
        return [r for s in self.supervisors for r in s.recipients("supervisor", s.supervisor_id)]

    @property
    def clinic_secrets(self) -> list[str]:
        """The clinic's own secrets, newest first; empty: the service's default signs."""
        if self.webhook_secrets is not None:
            return list(self.webhook_secrets)
        return [self.webhook_secret] if self.webhook_secret else []

    def secrets_for(self, recipient: Recipient) -> list[str]:
        """The secrets that sign a webhook to ``recipient``: its route's own, else the clinic's."""
        routes: Sequence[TherapistRoute | Supervisor] = (
            self.therapists if recipient.kind == "therapist" else self.supervisors
        )
        route = next((r for r in routes if r.route_id == recipient.recipient_id), None)
        return (route.webhook_secrets if route else None) or self.clinic_secrets

    def client_page_secrets(self) -> list[str]:
        """The secrets that sign a client page link: the ``client_page`` receiver's own, else the clinic's."""
        return (self.client_page.webhook_secrets if self.client_page else None) or self.clinic_secrets

    def keeping_secrets(self, stored: "ClinicRouting | None") -> "ClinicRouting":
        """This routing with every secret it leaves out (null) taken from ``stored``, destination by
        destination: secrets are write-only, so a routing read, changed and put back keeps them."""
        if stored is None:
            return self
        changes: dict[str, object] = {
            "therapists": [_kept(route, stored.therapists) for route in self.therapists],
            "supervisors": [_kept(route, stored.supervisors) for route in self.supervisors],
        }
        if self.webhook_secret is None and self.webhook_secrets is None:
            changes |= {"webhook_secret": stored.webhook_secret, "webhook_secrets": stored.webhook_secrets}
        page, stored_page = self.client_page, stored.client_page
        if page is not None and page.webhook_secrets is None and stored_page is not None:
            changes["client_page"] = page.model_copy(update={"webhook_secrets": stored_page.webhook_secrets})
        return self.model_copy(update=changes)

    def release_time(self, severity: Severity, now: datetime) -> datetime:
        """When an alert of ``severity`` may go out: at once, or (below high) at the end of quiet hours."""
        if self.quiet_hours is None or at_least(severity, Severity.HIGH):
            return now
        return quiet_hours_end(self.quiet_hours, ZoneInfo(self.timezone), now) or now


Route = TypeVar("Route", TherapistRoute, Supervisor)


def _kept(route: Route, stored: Sequence[Route]) -> Route:
    if route.webhook_secrets is not None or route.webhook_url is None:
        return route
    before = next((r for r in stored if r.route_id == route.route_id), None)
    return route.model_copy(update={"webhook_secrets": before.webhook_secrets if before else None})


def quiet_hours_end(quiet: QuietHours, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The end of the quiet period ``now`` falls in, or None outside quiet hours."""
    local = now.astimezone(zone)
    today_start = datetime.combine(local.date(), quiet.start, zone)
    today_end = datetime.combine(local.date(), quiet.end, zone)
    if quiet.start < quiet.end:
        return today_end if today_start <= local < today_end else None
    # Across midnight: quiet from start until end of the next day.
    if local >= today_start:
        return today_end + timedelta(days=1)
    if local < today_end:
        return today_end
    return None
