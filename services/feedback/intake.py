"""What every write endpoint shares: answer once per Idempotency-Key, and 503 when Kafka did not take it."""

from collections.abc import Awaitable, Callable, Iterable

from fastapi import HTTPException, Request, status
from fastapi.responses import JSONResponse

from services.feedback.erasure import ClientErased, gone
from services.feedback.event_store import EventStoreUnavailable
from services.feedback.idempotency import (
    EventIds,
    IdempotencyStore,
    KeyInProgress,
    KeyReused,
    StoredAnswer,
)
from shared.auth import ClinicPrincipal
from shared.privacy.plumbing import Privacy

RETRY_AFTER_SECONDS = "5"
UNAVAILABLE = "the event store is unavailable; nothing was stored"
STORAGE_UNAVAILABLE = (
    "the intake's database did not answer in time; retry with the same Idempotency-Key (an event already "
    "stored keeps its id, and is not counted twice)"
)
Work = Callable[[EventIds], Awaitable[StoredAnswer]]


async def answer_once(
    request: Request,
    clinic: ClinicPrincipal,
    idempotency_key: str | None,
    work: Work,
    clients: Iterable[str] = (),
) -> JSONResponse:
    """Run ``work`` unless this clinic's ``idempotency_key`` already has an answer; then replay that.
    ``clients`` are those the request names: an erasure of one of them removes the record of the key."""
    if idempotency_key is None:
        try:
            return _respond(await _attempt(work, EventIds(clinic.clinic_id, None)))
        except ClientErased:
            raise gone(request) from None
    store: IdempotencyStore = request.app.state.idempotency
    privacy: Privacy = request.app.state.privacy
    fingerprints = store.fingerprints.of(request.method, request.url.path, await request.body())
    # An erased client's pseudonym is kept nowhere: a batch naming one keeps only the others'.
    named = [client for client in clients if not privacy.erased.contains(clinic.clinic_id, client)]
    try:
        claimed = await store.claim(clinic.clinic_id, idempotency_key, fingerprints, named)
    except KeyInProgress:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="a request with this Idempotency-Key is still being processed",
            headers={"Retry-After": "1"},
        ) from None
    except KeyReused:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail="this Idempotency-Key was already used for a different request",
        ) from None
    if isinstance(claimed, StoredAnswer):
        return _respond(claimed, replayed=True)
    try:
        answer = await _attempt(work, EventIds(clinic.clinic_id, idempotency_key, claimed.moment))
    except ClientErased:  # not remembered either: nothing of an erased client is kept
        await store.drop(clinic.clinic_id, idempotency_key)
        raise gone(request) from None
    except BaseException:
        await store.release(clinic.clinic_id, idempotency_key)
        raise
    if answer.status_code >= 500:  # not an answer worth keeping: the retry must really retry
        await store.release(clinic.clinic_id, idempotency_key)
    else:
        await store.complete(clinic.clinic_id, idempotency_key, answer)
    return _respond(answer)


async def _attempt(work: Work, ids: EventIds) -> StoredAnswer:
    try:
        return await work(ids)
    except EventStoreUnavailable:
        raise unavailable() from None


def unavailable() -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, detail=UNAVAILABLE, headers={"Retry-After": RETRY_AFTER_SECONDS}
    )


def _respond(answer: StoredAnswer, replayed: bool = False) -> JSONResponse:
    headers: dict[str, str] = {}
    if answer.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        headers["Retry-After"] = RETRY_AFTER_SECONDS
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)
