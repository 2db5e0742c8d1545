"""The words of the notify domain: who receives an alert, through which channel, and why."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shared.contracts import RuptureSuspectedV4, Severity
from shared.tracing import Carrier

RecipientKind = Literal["therapist", "supervisor"]
ChannelName = Literal["email", "webhook"]
# alert: the episode reached (or rose to) an alerting level; escalation: an alert went unacknowledged past
# the deadline; stale: scoring reports the episode stayed open too long.
Reason = Literal["alert", "escalation", "stale"]

SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}


def at_least(severity: Severity, floor: Severity) -> bool:
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[floor]


@dataclass(frozen=True)
class Recipient:
    """One person's one channel. ``address`` is an e-mail address or a webhook URL."""

    kind: RecipientKind
    recipient_id: str
    channel: ChannelName
    address: str
    slack: bool = False

    def to_document(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "recipient_id": self.recipient_id,
            "channel": self.channel,
            "address": self.address,
            "slack": self.slack,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Recipient":
        return cls(**document)


@dataclass(frozen=True)
class Delivery:
    """One alert on its way to one recipient, as the worker sends it."""

    delivery_id: str
    clinic_id: str
    reason: Reason
    recipient: Recipient
    rupture: RuptureSuspectedV4
    attempts: int
    event_id: str
    raised_at: datetime | None = None
    trace: Carrier | None = None  # the trace of the event that raised it: the webhook call continues it
