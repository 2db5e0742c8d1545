"""Consumes rupture.suspected and sends each alert exactly once per channel."""

import logging

from faststream.kafka import KafkaBroker
from prometheus_client import Counter

from services.notify.alerts import alert_body, alert_id
from services.notify.deliveries import Deliveries
from services.notify.webhook import WebhookChannel
from shared.contracts import RUPTURE_SUSPECTED, CloudEvent, RuptureSuspectedV1
from shared.messaging import subscribe

log = logging.getLogger("alliance.notify")
ALERTS_SENT = Counter("alliance_alerts_sent_total", "Alerts delivered.", ["clinic", "channel", "severity"])
ALERTS_UNROUTED = Counter("alliance_alerts_unrouted_total", "Alerts with no channel to go to.", ["clinic"])
GROUP_ID = "notify"


def register(broker: KafkaBroker, deliveries: Deliveries, webhook: WebhookChannel | None) -> None:
    @subscribe(broker, RUPTURE_SUSPECTED, GROUP_ID)
    async def on_rupture_suspected(event: CloudEvent[RuptureSuspectedV1]) -> None:
        if webhook is None:
            ALERTS_UNROUTED.labels(event.clinicid).inc()
            log.info("no channel configured for alert", extra={"event_id": event.id})
            return
        delivery_id = alert_id(event, webhook.name)
        if not await deliveries.intend(delivery_id, event.clinicid, webhook.name):
            return
        await deliveries.attempted(delivery_id)
        await webhook.send(delivery_id, alert_body(event, webhook.name))
        await deliveries.sent(delivery_id)
        ALERTS_SENT.labels(event.clinicid, webhook.name, event.data.severity.value).inc()
        log.info("alert sent", extra={"event_id": event.id, "channel": webhook.name})
