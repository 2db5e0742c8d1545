"""What an alert says, per channel: e-mail (text + HTML from Jinja2 templates), JSON webhook, Slack blocks.

Pseudonymous ids, severity, markers in plain words and links only; never the client's comment (the event
does not carry it, and nothing here may add it).
"""

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from services.notify.alert import Delivery
from services.notify.wording import DIMENSION_WORDS, describe, dimension_of, next_step, recognition_of

_templates = Environment(
    loader=PackageLoader("services.notify", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

HEADLINES = {
    "alert": "{Severity} rupture suspected: client {client}",
    "escalation": "Unacknowledged {severity} rupture: client {client} (therapist {therapist})",
    "stale": "Rupture still open after several sessions: client {client} (therapist {therapist})",
}


@dataclass(frozen=True)
class AlertView:
    delivery: Delivery
    headline: str
    findings: list[str]
    recognition: str
    dimension: str
    next_step: str
    dashboard_url: str
    acknowledge_url: str

    @property
    def severity(self) -> str:
        return self.delivery.rupture.severity.value


def alert_view(delivery: Delivery, dashboard_url: str, acknowledge_url: str) -> AlertView:
    rupture = delivery.rupture
    dimension = dimension_of(rupture)
    headline = HEADLINES[delivery.reason].format(
        Severity=rupture.severity.value.capitalize(),
        severity=rupture.severity.value,
        client=rupture.client_id,
        therapist=rupture.therapist_id,
    )
    return AlertView(
        delivery=delivery,
        headline=headline,
        findings=[describe(marker, rupture) for marker in rupture.markers],
        recognition=recognition_of(rupture),
        dimension=DIMENSION_WORDS.get(dimension, dimension),
        next_step=next_step(dimension),
        dashboard_url=dashboard_url,
        acknowledge_url=acknowledge_url,
    )


def email_parts(view: AlertView) -> tuple[str, str, str]:
    """(subject, plain text, HTML)."""
    context = {"view": view, "rupture": view.delivery.rupture}
    text = _templates.get_template("alert.txt").render(context)
    html = _templates.get_template("alert.html").render(context)
    return f"[Alliance] {view.headline}", text, html


def webhook_body(view: AlertView) -> dict[str, Any]:
    delivery, rupture = view.delivery, view.delivery.rupture
    return {
        "delivery_id": delivery.delivery_id,
        "alert_id": delivery.delivery_id,
        "kind": "rupture.suspected",
        "reason": delivery.reason,
        "recipient_kind": delivery.recipient.kind,
        "clinic_id": delivery.clinic_id,
        "rupture_id": rupture.rupture_id,
        "therapist_id": rupture.therapist_id,
        "client_id": rupture.client_id,
        "session_id": rupture.session_id,
        "session_at": rupture.session_at.isoformat(),
        "severity": rupture.severity.value,
        "previous_severity": rupture.previous_severity.value if rupture.previous_severity else None,
        "stale": rupture.stale,
        "srs_total": rupture.srs_total,
        "baseline": rupture.baseline,
        "summary": view.headline,
        "markers": [
            {**marker.model_dump(mode="json", exclude_none=True), "description": finding}
            for marker, finding in zip(rupture.markers, view.findings, strict=True)
        ],
        "recognised_by": rupture.recognised_by,
        "recognition": view.recognition,
        "dimension": view.dimension,
        "suggested_next_step": view.next_step,
        "dashboard_url": view.dashboard_url,
        "acknowledge_url": view.acknowledge_url,
    }


def slack_body(view: AlertView) -> dict[str, Any]:
    findings = "\n".join(f"• {finding}" for finding in view.findings) or "• (no marker details)"
    return {
        "text": f"{view.headline}. {view.next_step}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": view.headline[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": findings}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"{view.recognition}\n*Dimension:* {view.dimension}\n*Next step:* {view.next_step}",
                },
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open alliance view"},
                        "url": view.dashboard_url,
                    },
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Acknowledge"},
                        "url": view.acknowledge_url,
                    },
                ],
            },
        ],
    }
