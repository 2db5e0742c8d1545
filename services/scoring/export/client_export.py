"""The JSON export of one client: the read API's view, and everything it is made of, with the words opened.

``alliance`` is the very model the read API answers (``ScoringApi.alliance``), so the two agree field by field.
Beside it: every inbound event stored for the client (sessions, ratings with their items and comments, notes,
goals; each in its latest version), the clinicians' acknowledgements and manual resolutions (notes opened),
the notifications sent about the client (no recipient's address: notify never publishes one) and the audit
entries of every read of the client's data (route, when, key, actor; never another client's id).
"""

from datetime import datetime
from typing import Any

from pydantic import Field
from pymongo import ASCENDING

from services.scoring.api import ScoringApi
from services.scoring.clients import KINDS_BY_TYPE, record_key
from services.scoring.export.notifications import NotificationLog
from services.scoring.views import ClientAlliance, View
from shared.contracts import STORED, NotificationSentV1
from shared.messaging.subscription import decode_event
from shared.repair import RepairStrategy, RuptureType

Document = dict[str, Any]
# Reads of a snapshot tried before giving up, should the client's document change between them each time.
SNAPSHOT_TRIES = 5


class ExportedEvent(View):
    """An inbound event as scoring stored it (a CloudEvent), upcast to its latest version, words opened."""

    id: str = Field(description="The event's id.")
    type: str = Field(description="Event name and version, e.g. org.alliance.feedback.submitted.v2.")
    source: str = Field(description="Who produced it.")
    time: datetime = Field(description="When it was produced.")
    data: dict[str, Any] = Field(description="The event's data, the person's words in the clear.")


class ExportedAcknowledgement(View):
    event_id: str
    rupture_id: str = Field(description="The rupture episode acknowledged.")
    acknowledged_by: str
    acknowledged_at: datetime
    rupture_type: RuptureType | None = None
    strategies: list[RepairStrategy] = Field(default_factory=list)


class ExportedResolution(View):
    event_id: str
    rupture_id: str = Field(description="The rupture episode resolved by hand.")
    resolved_by: str
    resolved_at: datetime
    note: str = Field(description="The clinician's note, in the clear.")
    rupture_type: RuptureType | None = None
    strategies: list[RepairStrategy] = Field(default_factory=list)


class ExportedNotification(View):
    """An alert that reached a recipient's channel; who received it only by kind, never by address."""

    event_id: str = Field(description="Id of the notification.sent event.")
    delivery_id: str
    rupture_id: str
    therapist_id: str
    severity: str
    reason: str = Field(description="alert, escalation or stale.")
    channel: str = Field(description="email or webhook.")
    recipient_kind: str = Field(description="therapist or supervisor.")
    attempts: int
    sent_at: datetime


class AuditEntry(View):
    """One entry of the audit log naming the client: a read of their data through an API or a view, or a
    clinician's action on it."""

    at: datetime
    route: str
    key_id: str = Field(description="The API key behind the read (a short prefix of its hash).")
    actor: str | None = Field(default=None, description="The person behind a view's session, if any.")
    found: bool


class ClientExport(View):
    """Everything the platform holds about one client."""

    clinic_id: str
    client_id: str
    exported_at: datetime
    alliance: ClientAlliance = Field(description="Exactly what GET /v1/clients/{client_id}/alliance answers.")
    events: list[ExportedEvent] = Field(
        description="Every inbound event of the client, in the order it was applied: sessions, ratings (items "
        "and comment), shared notes and answers, goals agreed and closed."
    )
    acknowledgements: list[ExportedAcknowledgement]
    resolutions: list[ExportedResolution] = Field(description="Episodes a clinician resolved by hand.")
    notifications: list[ExportedNotification] = Field(
        description="Alerts sent about the client, oldest first."
    )
    audit: list[AuditEntry] = Field(
        description="The audit log's entries about the client, oldest first: every read of their data through "
        "an API or a view (this export's own entry is written after it is assembled)."
    )


class SnapshotMoved(RuntimeError):
    """The client's document changed between the reads of every try: no consistent snapshot."""


async def client_export(
    api: ScoringApi, notifications: NotificationLog, clinic_id: str, client_id: str, now: datetime
) -> ClientExport | None:
    """The client's export; None if the clinic has no such client."""
    snapshot = await _snapshot(api, clinic_id, client_id)
    if snapshot is None:
        return None
    document, alliance = snapshot
    stored = [decode_event(KINDS_BY_TYPE[event["type"]], event, STORED) for event in document["events"]]
    events = [ExportedEvent.model_validate(event.model_dump(mode="json")) for event in stored]
    resolutions = [_resolution(r) for r in document.get("resolutions", ())]
    events, resolutions = await api.privacy.words.open_all(clinic_id, client_id, (events, resolutions))
    return ClientExport(
        clinic_id=clinic_id,
        client_id=client_id,
        exported_at=now,
        alliance=alliance,
        events=events,
        acknowledgements=[_acknowledgement(a) for a in document.get("acknowledgements", ())],
        resolutions=resolutions,
        notifications=[_notification(i, n) for i, n in await notifications.of_client(clinic_id, client_id)],
        audit=await _audit(api, clinic_id, client_id),
    )


async def _snapshot(
    api: ScoringApi, clinic_id: str, client_id: str
) -> tuple[Document, ClientAlliance] | None:
    """The client's stored document and the read API's view of it, of the same state: the view is read between
    two reads of the document's ``updated_at`` (every save changes it), tried again if it moved."""
    collection = api.clients.collection
    query = {"_id": record_key(clinic_id, client_id), "clinic_id": clinic_id}
    wanted = {"events": 1, "acknowledgements": 1, "resolutions": 1, "updated_at": 1}
    for _ in range(SNAPSHOT_TRIES):
        document = await collection.find_one(query, wanted)
        alliance = await api.alliance(clinic_id, client_id)
        if document is None or alliance is None:
            return None
        again = await collection.find_one(query, {"updated_at": 1})
        if again is not None and again.get("updated_at") == document.get("updated_at"):
            return document, alliance
    raise SnapshotMoved(f"the client's data changed during {SNAPSHOT_TRIES} tries")


def _acknowledgement(stored: Document) -> ExportedAcknowledgement:
    return ExportedAcknowledgement(
        event_id=stored["event_id"],
        rupture_id=stored["episode_id"],
        acknowledged_by=stored["acknowledged_by"],
        acknowledged_at=datetime.fromisoformat(stored["acknowledged_at"]),
        rupture_type=stored.get("rupture_type"),
        strategies=stored.get("strategies", []),
    )


def _resolution(stored: Document) -> ExportedResolution:
    return ExportedResolution(
        event_id=stored["event_id"],
        rupture_id=stored["episode_id"],
        resolved_by=stored["resolved_by"],
        resolved_at=datetime.fromisoformat(stored["resolved_at"]),
        note=stored["note"],
        rupture_type=stored.get("rupture_type"),
        strategies=stored.get("strategies", []),
    )


def _notification(event_id: str, sent: NotificationSentV1) -> ExportedNotification:
    return ExportedNotification(event_id=event_id, **sent.model_dump(mode="json", exclude={"client_id"}))


async def _audit(api: ScoringApi, clinic_id: str, client_id: str) -> list[AuditEntry]:
    """The clinic's audit entries naming the client; the other clients an entry names are left out."""
    cursor = api.audit.collection.find(
        {"clinic_id": clinic_id, "client_ids": client_id},
        {"_id": 0, "at": 1, "route": 1, "key_id": 1, "actor": 1, "found": 1},
    ).sort([("at", ASCENDING), ("_id", ASCENDING)])
    return [AuditEntry.model_validate(entry) async for entry in cursor]
