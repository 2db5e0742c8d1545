"""The HTTP side of a client's data lifecycle (admin scope): a legal hold, and erasure on request.

Another clinic's client is a 404 exactly like an unknown one. Neither a hold nor an erasure is written to the
read audit: an erasure leaves its own record, and a hold is kept with who set it.
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from services.scoring.clinic_settings import ClinicSettings, ClinicSettingsStore
from services.scoring.lifecycle.erasure import ClientOnHold, Erasures, UnknownClient
from shared.auth import ClinicPrincipal, Scope, require_scope
from shared.contracts.fields import OpaqueId
from shared.messaging.delivery import is_transient

router = APIRouter(prefix="/v1", tags=["client data"])
Admin = Annotated[ClinicPrincipal, Depends(require_scope(Scope.ADMIN))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked API key"},
    403: {"description": "The key lacks the admin scope"},
    404: {"description": "No such client in the caller's clinic"},
}


class ErasureRequest(BaseModel):
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why (e.g. the client's request under GDPR Art. 17); kept in the erasure record only.",
    )


class ErasureAnswer(BaseModel):
    erasure_id: str = Field(description="The id of the erasure record and of the `client.erased` event.")
    client_hash: str = Field(description="Salted SHA-256 of the pseudonym: all the record keeps of it.")
    erased_at: datetime
    by: str = Field(description="`key:<key id>` of the admin key that asked.")


class HoldRequest(BaseModel):
    on: bool = Field(description="true puts the client under legal hold; false lifts it.")
    reason: str | None = Field(default=None, max_length=500, description="Why (litigation, an inquiry...).")


class Hold(BaseModel):
    client_id: OpaqueId
    on: bool
    reason: str | None = None
    set_at: datetime | None = None
    set_by: str | None = None


def _erasures(request: Request) -> Erasures:
    erasures: Erasures = request.app.state.erasures
    return erasures


ErasuresDep = Annotated[Erasures, Depends(_erasures)]


@router.delete(
    "/clients/{client_id}",
    responses={
        **ERRORS,
        409: {"description": "The client is under legal hold"},
        503: {"description": "Kafka did not take the erasure; nothing was erased"},
    },
    summary="Erase everything the platform holds about a client",
)
async def erase_client(
    client_id: OpaqueId, body: ErasureRequest, principal: Admin, erasures: ErasuresDep
) -> ErasureAnswer:
    """Shreds the client's data key (every copy of their words becomes unreadable), purges them from every
    service and publishes ``client.erased`` so that late events and replays skip them. Kafka keeps the
    pseudonymous ratings until the topics' retention (docs/privacy.md)."""
    try:
        record = await erasures.erase(principal.clinic_id, client_id, f"key:{principal.key_id}", body.reason)
    except UnknownClient:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such client") from None
    except ClientOnHold:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="the client is under legal hold: lift the hold first"
        ) from None
    except Exception as error:
        if is_transient(error):
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                detail="Kafka or MongoDB did not answer; nothing was erased, try again",
                headers={"Retry-After": "5"},
            ) from None
        raise
    return ErasureAnswer(
        erasure_id=record.erasure_id, client_hash=record.client_hash, erased_at=record.erased_at, by=record.by
    )


@router.put(
    "/clients/{client_id}/hold", responses=ERRORS, summary="Put a client under legal hold, or lift it"
)
async def set_hold(client_id: OpaqueId, body: HoldRequest, principal: Admin, erasures: ErasuresDep) -> Hold:
    """While on hold, neither an erasure request nor the clinic's retention erases the client."""
    if not await erasures.known(principal.clinic_id, client_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such client")
    if not body.on:
        await erasures.lift_hold(principal.clinic_id, client_id)
        return Hold(client_id=client_id, on=False)
    hold = await erasures.put_hold(principal.clinic_id, client_id, body.reason, f"key:{principal.key_id}")
    return Hold(client_id=client_id, on=True, **hold)


@router.get("/clients/{client_id}/hold", responses=ERRORS, summary="Whether a client is under legal hold")
async def get_hold(client_id: OpaqueId, principal: Admin, erasures: ErasuresDep) -> Hold:
    if not await erasures.known(principal.clinic_id, client_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such client")
    hold = await erasures.hold_of(principal.clinic_id, client_id)
    return Hold(client_id=client_id, on=hold is not None, **(hold or {}))


class RetentionRequest(BaseModel):
    retention_months: int | None = Field(
        ge=1, le=1200, description="Erase clients with no session for this many months; null: no policy."
    )


@router.put(
    "/clinic/retention", responses=ERRORS, summary="Set how long the clinic keeps clients without a session"
)
async def set_retention(body: RetentionRequest, principal: Admin, request: Request) -> ClinicSettings:
    """The daily retention job erases (as on request, ``by: retention``) every client of the clinic whose latest
    session is older than ``retention_months``, except those under legal hold. The clinic settings show it."""
    settings: ClinicSettingsStore = request.app.state.scoring.settings
    await settings.set_retention(principal.clinic_id, body.retention_months, principal.key_id)
    return await settings.view(principal.clinic_id)
