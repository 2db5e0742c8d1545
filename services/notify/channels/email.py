"""The e-mail channel: one multipart (plain text + HTML) message per delivery, over SMTP with aiosmtplib."""

from email.message import EmailMessage

import aiosmtplib
from opentelemetry.trace import SpanKind

from services.notify.channels import ChannelFailure
from services.notify.settings import NotifySettings
from shared import tracing


class EmailChannel:
    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings

    async def send(self, to: str, delivery_id: str, subject: str, text: str, html: str) -> None:
        message = EmailMessage()
        message["From"] = self._settings.smtp_from
        message["To"] = to
        message["Subject"] = subject
        # Stable across retries, so a mail system (or a person) can spot a repeat after a crash.
        message["Message-ID"] = f"<{delivery_id}@alliance.notify>"
        message["X-Alliance-Delivery"] = delivery_id
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        settings = self._settings
        smtp_call = {"server.address": settings.smtp_host, "server.port": settings.smtp_port}
        try:
            with tracing.span("smtp send", smtp_call, SpanKind.CLIENT):
                await aiosmtplib.send(
                    message,
                    hostname=settings.smtp_host,
                    port=settings.smtp_port,
                    start_tls=settings.smtp_starttls,
                    username=settings.smtp_username,
                    password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                    timeout=settings.smtp_timeout_seconds,
                )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise ChannelFailure(f"smtp: {type(error).__name__}") from error
