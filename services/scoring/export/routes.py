"""``GET /v1/clients/{client_id}/export``: everything the platform holds about one client (admin scope).

Admin, not read: the export holds every word the client wrote, and read keys are handed to dashboards. Like
every read of one client it is audited, found or not; another clinic's client is a 404 exactly like an unknown
one. A key without the admin scope is refused (403) before anything is read or written.
"""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, status
from fastapi.responses import JSONResponse

from services.scoring.api import AUTH_ERRORS, NOT_FOUND, Admin, Api
from services.scoring.export.client_export import ClientExport, SnapshotMoved, client_export
from services.scoring.export.fhir_bundle import FHIR_JSON, fhir_bundle
from services.scoring.export.notifications import NOTIFICATIONS, NotificationLog
from shared.contracts.fields import OpaqueId

router = APIRouter(prefix="/v1", tags=["client data"])
ROUTE = "GET /v1/clients/{client_id}/export"
Format = Literal["json", "fhir"]
RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    **NOT_FOUND,
    200: {
        "description": "The export: JSON, or with `format=fhir` (or `Accept: application/fhir+json`) a FHIR R4 "
        "Bundle of type collection",
        "content": {
            FHIR_JSON: {"schema": {"type": "object", "description": "A FHIR R4 Bundle (collection)."}}
        },
    },
    503: {"description": "The client's data kept changing while it was read; try again"},
}


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


@router.get(
    "/clients/{client_id}/export",
    response_model=ClientExport,
    responses=RESPONSES,
    summary="Everything the platform holds about one client",
)
async def export_client(
    client_id: OpaqueId,
    principal: Admin,
    api: Api,
    format: Annotated[Format | None, Query(description="json (the default) or fhir.")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> ClientExport | FhirResponse:
    """The client's sessions, ratings with their items and comments (in the clear), markers and episodes
    (``alliance``: exactly what ``GET /v1/clients/{client_id}/alliance`` answers), every inbound event, the
    acknowledgements and manual resolutions (notes in the clear), the notifications sent (no address) and
    the audit entries of who read the data. ``format=fhir`` gives a FHIR R4 Bundle instead: one
    QuestionnaireResponse per rating, one Observation per total (SRS, ORS, WAI-SR; the WAI-SR subscales as
    components), derived from its response. The export itself is audited."""
    notifications = NotificationLog(api.clients.collection.database[NOTIFICATIONS])
    try:
        export = await client_export(api, notifications, principal.clinic_id, client_id, datetime.now(UTC))
    except SnapshotMoved:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail="the client's data is changing; try again"
        ) from None
    await api.audit.record(principal, ROUTE, [client_id], found=export is not None)
    if export is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such client")
    if format == "fhir" or (format is None and FHIR_JSON in (accept or "")):
        return FhirResponse(fhir_bundle(export))
    return export
