"""Turns one delivery into one message on its channel: links, rendering, the secrets that sign its webhook."""

from collections.abc import Callable, Sequence

from services.notify.acknowledgement import AckClaim, AckLinks
from services.notify.alert import Delivery
from services.notify.channels.email import EmailChannel
from services.notify.channels.webhook import WebhookChannel
from services.notify.client_pages import ClientPageDelivery, client_page_body
from services.notify.deliveries import Outgoing
from services.notify.rendering import alert_view, email_parts, slack_body, webhook_body
from services.notify.routing import ClinicRouting
from services.notify.routing_store import RoutingStore
from shared.view_links import ViewLink, ViewLinks


class Dispatcher:
    def __init__(
        self,
        view_links: ViewLinks,
        default_webhook_secrets: Sequence[str],
        routing: RoutingStore,
        links: AckLinks,
        email: EmailChannel,
        webhook: WebhookChannel,
    ) -> None:
        self._view_links = view_links
        self._default_secrets = list(default_webhook_secrets)
        self._routing = routing
        self._links = links
        self._email = email
        self._webhook = webhook

    async def send(self, delivery: Outgoing) -> None:
        if isinstance(delivery, ClientPageDelivery):
            secrets = await self._secrets(delivery.clinic_id, ClinicRouting.client_page_secrets)
            await self._webhook.send(
                delivery.webhook_url, delivery.delivery_id, client_page_body(delivery), secrets
            )
            return
        await self._send_alert(delivery)

    async def _send_alert(self, delivery: Delivery) -> None:
        rupture, recipient = delivery.rupture, delivery.recipient
        view = alert_view(
            delivery,
            dashboard_url=self._view_links.url(
                ViewLink(delivery.clinic_id, "client", rupture.client_id, rupture.therapist_id, "notify")
            ),
            acknowledge_url=self._links.url(
                AckClaim(delivery.clinic_id, rupture.rupture_id, recipient.recipient_id)
            ),
        )
        if recipient.channel == "email":
            subject, text, html = email_parts(view)
            await self._email.send(recipient.address, delivery.delivery_id, subject, text, html)
            return
        body = slack_body(view) if recipient.slack else webhook_body(view)
        secrets = await self._secrets(delivery.clinic_id, lambda routing: routing.secrets_for(recipient))
        await self._webhook.send(recipient.address, delivery.delivery_id, body, secrets)

    async def _secrets(
        self, clinic_id: str, of_destination: Callable[[ClinicRouting], list[str]]
    ) -> list[str]:
        """The destination's secrets, else the clinic's, else the service's: read at send time, so that a
        rotation signs the retries and the intents recorded before it too."""
        routing = await self._routing.get(clinic_id)
        return (of_destination(routing) if routing else None) or self._default_secrets
