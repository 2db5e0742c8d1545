"""A clinic's routing: who hears about which rupture, through which channels, and when; and where the links to
its clients' own pages go after a shared note.

Pure: the models the routing API stores and the decisions made from them (recipients, alert threshold,
quiet hours). No I/O here.
"""

from datetime import datetime, time, timedelta
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.notify.alert import Recipient, RecipientKind, at_least
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

    def recipients(self, kind: RecipientKind, recipient_id: str) -> list[Recipient]:
        found = []
        if self.email:
            found.append(Recipient(kind, recipient_id, "email", self.email))
        if self.webhook_url:
            found.append(Recipient(kind, recipient_id, "webhook", str(self.webhook_url), self.slack))
        return found


class TherapistRoute(ChannelSet):
    therapist_id: OpaqueId


class Supervisor(ChannelSet):
    supervisor_id: OpaqueId


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


class ClinicRouting(Routed):
    """Everything notify needs to know about one clinic. Stored by ``PUT /v1/routing``."""

    timezone: str = Field(default="UTC", description="IANA time zone of the clinic, e.g. Europe/Berlin.")
    therapists: list[TherapistRoute] = Field(default_factory=list)
    supervisors: list[Supervisor] = Field(default_factory=list)
    min_severity: Severity = Field(default=Severity.MEDIUM, description="The lowest severity that alerts.")
    quiet_hours: QuietHours | None = None
    ack_deadline_hours: float = Field(
        default=48.0,
        gt=0,
        le=24 * 30,
        description="Unacknowledged alerts escalate to supervisors after this.",
    )
    webhook_secret: str | None = Field(
        default=None, min_length=16, max_length=256, description="Signs this clinic's webhooks (write-only)."
    )
    client_page: ClientPageRoute | None = Field(
        default=None,
        description="Send each client the link to their own page after every note shared with them, through "
        "the clinic's system; absent: no link is sent.",
    )

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
    def _one_route_each(cls, routes: list[TherapistRoute]) -> list[TherapistRoute]:
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

    def release_time(self, severity: Severity, now: datetime) -> datetime:
        """When an alert of ``severity`` may go out: at once, or (below high) at the end of quiet hours."""
        if self.quiet_hours is None or at_least(severity, Severity.HIGH):
            return now
        return quiet_hours_end(self.quiet_hours, ZoneInfo(self.timezone), now) or now


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
