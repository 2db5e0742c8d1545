"""Who gets which delivery, and when, for a suspected rupture or an overdue acknowledgement. Pure.

An alert from history (its session was older than the clinic's push horizon when scoring announced it) plans
nothing: no e-mail, no webhook, no escalation timer.

A delivery's id is derived from the episode, its level, the reason and the recipient's channel: a redelivered
event, or a second event for the same episode and level, plans the same ids and so sends nothing twice.
"""

from dataclasses import dataclass
from datetime import datetime

from services.notify.alert import Reason, Recipient, at_least
from services.notify.routing import ClinicRouting
from shared.contracts import RuptureSuspectedV4, Severity, derived_event_id


@dataclass(frozen=True)
class PlannedDelivery:
    delivery_id: str
    recipient: Recipient
    reason: Reason
    due_at: datetime


@dataclass(frozen=True)
class AlertPlan:
    deliveries: tuple[PlannedDelivery, ...]
    unrouted: bool  # the therapist had no routing: the clinic's supervisors were told instead
    escalate_at: datetime | None  # when an unacknowledged alert goes to the supervisors


def delivery_id(clinic_id: str, rupture_id: str, severity: Severity, reason: Reason, to: Recipient) -> str:
    return derived_event_id(
        "delivery", clinic_id, rupture_id, severity.value, reason, to.kind, to.recipient_id, to.channel
    )


def plan_alert(
    clinic_id: str,
    rupture: RuptureSuspectedV4,
    stored: ClinicRouting | None,
    fallback_webhook: str | None,
    now: datetime,
) -> AlertPlan:
    if rupture.from_history:  # history is not news: recorded by the caller, never pushed, never escalated
        return AlertPlan((), unrouted=False, escalate_at=None)
    routing = stored or ClinicRouting()
    severity = rupture.severity
    planned: list[PlannedDelivery] = []

    def add(recipients: list[Recipient], reason: Reason, due_at: datetime) -> None:
        planned.extend(
            PlannedDelivery(
                delivery_id(clinic_id, rupture.rupture_id, severity, reason, r), r, reason, due_at
            )
            for r in recipients
        )

    supervisors = routing.supervisor_recipients()
    if rupture.stale:
        add(supervisors, "stale", now)  # stale goes to supervisors at once, quiet hours or not
    if not routing.alerts_at(severity):
        return AlertPlan(tuple(planned), unrouted=False, escalate_at=None)

    due_at = routing.release_time(severity, now)
    therapist = routing.therapist_recipients(rupture.therapist_id)
    if stored is None and fallback_webhook:
        therapist = [Recipient("therapist", rupture.therapist_id, "webhook", fallback_webhook)]
    if not therapist:
        if not rupture.stale:  # a stale alert already told them
            add(supervisors, "alert", due_at)
        return AlertPlan(tuple(planned), unrouted=True, escalate_at=None)
    add(therapist, "alert", due_at)
    escalates = at_least(severity, Severity.MEDIUM)
    return AlertPlan(tuple(planned), False, due_at + routing.ack_deadline if escalates else None)


def plan_escalation(
    clinic_id: str, rupture: RuptureSuspectedV4, routing: ClinicRouting, now: datetime
) -> tuple[PlannedDelivery, ...]:
    """The supervisors' deliveries for an alert nobody acknowledged in time."""
    due_at = routing.release_time(rupture.severity, now)
    return tuple(
        PlannedDelivery(
            delivery_id(clinic_id, rupture.rupture_id, rupture.severity, "escalation", r),
            r,
            "escalation",
            due_at,
        )
        for r in routing.supervisor_recipients()
    )
