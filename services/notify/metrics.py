"""Prometheus metrics of the notify service. Labels: clinic, channel and severity only, never a person."""

from prometheus_client import Counter, Histogram

ALERTS_SENT = Counter("alliance_alerts_sent_total", "Alerts delivered.", ["clinic", "channel", "severity"])
ALERTS_FAILED = Counter(
    "alliance_alerts_failed_total",
    "Alerts given up on after every attempt.",
    ["clinic", "channel", "severity"],
)
DELIVERY_ATTEMPTS = Counter(
    "alliance_alert_delivery_attempts_total",
    "Attempts to deliver an alert, failed ones included.",
    ["clinic", "channel"],
)
ALERTS_UNROUTED = Counter(
    "alliance_alerts_unrouted_total",
    "Alerts for a therapist without routing (sent to supervisors).",
    ["clinic"],
)
ALERTS_FROM_HISTORY = Counter(
    "alliance_alerts_from_history_total",
    "Alerts about sessions older than the clinic's push horizon (imported history): recorded, never pushed.",
    ["clinic"],
)
ESCALATIONS = Counter(
    "alliance_alert_escalations_total",
    "Unacknowledged alerts escalated to supervisors.",
    ["clinic", "severity"],
)
CLIENT_PAGE_LINKS_SENT = Counter(
    "alliance_client_page_links_sent_total",
    "Client page links handed to the clinic's system after a shared note.",
    ["clinic"],
)
CLIENT_PAGE_LINKS_FAILED = Counter(
    "alliance_client_page_links_failed_total",
    "Client page links given up on after every attempt.",
    ["clinic"],
)
CLIENT_PAGE_LINK_ATTEMPTS = Counter(
    "alliance_client_page_link_attempts_total",
    "Attempts to hand a client page link to the clinic's system, failed ones included.",
    ["clinic"],
)
ALERT_LATENCY = Histogram(
    "alliance_alert_latency_seconds",
    "From the rating that raised a rupture reaching the platform to its alert being sent.",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600),
)
