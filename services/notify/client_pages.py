"""Client page links after a shared note: whether one is owed, its delivery, and what the clinic is told. Pure.

The platform holds pseudonyms only, so the link goes to the clinic's own system (its routing's
``client_page``), which knows how to reach the client. The body names the note but never carries its text.

A link delivery's id is derived from the clinic and the note: a redelivered ``note.shared`` plans the same id
and so sends nothing twice (the link minted for the first one is the one sent).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from services.notify.routing import ClinicRouting
from shared.contracts import NoteSharedV1, derived_event_id
from shared.tracing import Carrier

BODY_TYPE: Literal["client_page.link"] = "client_page.link"
# A note is news for as long as an alert is (the default push horizon): one notify reads later (an import, a
# consumer group reset to the start of the topic) is history, and its client is sent no link for it.
NEWS_HORIZON = timedelta(days=14)


@dataclass(frozen=True)
class PlannedClientPage:
    delivery_id: str
    webhook_url: str
    days: int | None  # the link's lifetime; None: the CLIENT_PAGE_DAYS default


@dataclass(frozen=True)
class ClientPageDelivery:
    """One client's page link on its way to the clinic's system, as the worker sends it."""

    delivery_id: str
    clinic_id: str
    client_id: str
    note_id: str
    session_id: str
    webhook_url: str
    page_url: str  # a credential: whoever holds it sees the client's page; never logged
    expires_at: datetime
    attempts: int
    event_id: str
    trace: Carrier | None = None  # the trace of the shared note: the webhook call continues it


def client_page_delivery_id(clinic_id: str, note_id: str) -> str:
    return derived_event_id("client_page", clinic_id, note_id)


def plan_client_page(
    clinic_id: str, note: NoteSharedV1, routing: ClinicRouting | None, now: datetime
) -> PlannedClientPage | None:
    """The link owed for a shared note, or None when the clinic has not asked for links or the note is history
    by ``now``."""
    route = routing.client_page if routing else None
    if route is None or note.shared_at < now - NEWS_HORIZON:
        return None
    return PlannedClientPage(
        client_page_delivery_id(clinic_id, note.note_id), str(route.webhook_url), route.days
    )


def client_page_body(link: ClientPageDelivery) -> dict[str, Any]:
    """The webhook's JSON body: pseudonymous ids, the link and its expiry; never the note's text."""
    return {
        "type": BODY_TYPE,
        "delivery_id": link.delivery_id,
        "clinic_id": link.clinic_id,
        "client_id": link.client_id,
        "note_id": link.note_id,
        "session_id": link.session_id,
        "url": link.page_url,
        "expires_at": link.expires_at.isoformat(),
    }
