"""One client's export (``GET /v1/clients/{client_id}/export``, admin scope): everything the platform holds
about them, as JSON (the read API's view plus what it is made of) or as a FHIR R4 ``Bundle``; and the
notifications sent about them, which scoring learns from ``notification.sent``."""

from services.scoring.export.notifications import NOTIFICATIONS, NotificationLog, follow_notifications
from services.scoring.export.routes import router

__all__ = ["NOTIFICATIONS", "NotificationLog", "follow_notifications", "router"]
