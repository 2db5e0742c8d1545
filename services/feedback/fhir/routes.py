"""POST /v1/fhir/QuestionnaireResponse, and OperationOutcome for every error under /v1/fhir/ and /fhir/."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import Example
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from services.feedback.api import WRITE_ERRORS
from services.feedback.event_store import publish_one
from services.feedback.fhir.mapping import UnmappableResponse, to_feedback
from services.feedback.fhir.resources import (
    FHIR_JSON,
    SESSION_AT_EXTENSION,
    THERAPIST_EXTENSION,
    OperationOutcome,
    QuestionnaireResponse,
    outcome,
)
from services.feedback.idempotency import EventIds, IdempotencyKeyHeader, StoredAnswer
from services.feedback.intake import answer_once
from services.feedback.rate_limit import IngestClinic
from services.feedback.sealing import Outgoing
from shared.contracts import FEEDBACK_SUBMITTED

PREFIX = "/v1/fhir"
# Where errors are OperationOutcomes: the intake's paths and the Questionnaires' (questionnaire_routes).
FHIR_PATHS = (PREFIX, "/fhir")
router = APIRouter(prefix=PREFIX, tags=["FHIR"])
# The resource a request body holds: the only one this service takes in.
BODY_RESOURCE = "QuestionnaireResponse"
# HTTP status → OperationOutcome issue code (FHIR R4 IssueType).
ISSUE_CODES = {
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    410: "deleted",
    413: "too-costly",
    422: "processing",
    429: "throttled",
    503: "transient",
}

SRS_RESPONSE = {
    "resourceType": "QuestionnaireResponse",
    "status": "completed",
    "questionnaire": "https://alliance-platform.org/fhir/Questionnaire/srs",
    "subject": {"reference": "Patient/c-311"},
    "encounter": {"reference": "Encounter/s-104"},
    "author": {"reference": "Patient/c-311"},
    "authored": "2026-11-20T10:55:00+00:00",
    "extension": [
        {"url": THERAPIST_EXTENSION, "valueReference": {"reference": "Practitioner/t-7"}},
        {"url": SESSION_AT_EXTENSION, "valueDateTime": "2026-11-20T10:00:00+00:00"},
    ],
    "item": [
        {"linkId": "relationship", "answer": [{"valueDecimal": 9.1}]},
        {"linkId": "goals", "answer": [{"valueDecimal": 8.4}]},
        {"linkId": "approach", "answer": [{"valueDecimal": 8.8}]},
        {"linkId": "overall", "answer": [{"valueDecimal": 8.9}]},
        {"linkId": "comment", "answer": [{"valueString": "Felt rushed at the end."}]},
    ],
}
EXAMPLES = {
    "srs-client": Example(summary="SRS by the client", value=SRS_RESPONSE),
    "wai-sr-therapist": Example(
        summary="WAI-SR by the therapist",
        value={
            **SRS_RESPONSE,
            "questionnaire": "https://alliance-platform.org/fhir/Questionnaire/wai_sr",
            "author": {"reference": "Practitioner/t-7"},
            "extension": [SRS_RESPONSE["extension"][1]],  # type: ignore[index]
            "item": [{"linkId": f"q{i}", "answer": [{"valueInteger": 4}]} for i in range(1, 13)],
        },
    ),
    "gbo-client": Example(
        summary="Goal ratings by the client (goal 2's slot is empty: only active goals are rated)",
        value={
            **SRS_RESPONSE,
            "questionnaire": "https://alliance-platform.org/fhir/Questionnaire/gbo",
            "item": [
                {"linkId": "goal_1", "answer": [{"valueInteger": 4}]},
                {"linkId": "goal_3", "answer": [{"valueInteger": 7}]},
            ],
        },
    ),
}


@router.post(
    "/QuestionnaireResponse",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OperationOutcome,
    response_model_exclude_none=True,
    responses={**WRITE_ERRORS, 400: {"description": "Not a QuestionnaireResponse (OperationOutcome)"}},
    summary="Submit an SRS, ORS, WAI-SR, rupture report or goal rating as a FHIR R4 QuestionnaireResponse",
)
async def submit_questionnaire_response(
    body: Annotated[QuestionnaireResponse, Body(openapi_examples=EXAMPLES, media_type=FHIR_JSON)],
    clinic: IngestClinic,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    try:
        data = to_feedback(body)
    except UnmappableResponse as unmappable:
        return _outcome_response(422, [("processing", why, where) for where, why in unmappable.problems])

    async def work(ids: EventIds) -> StoredAnswer:
        outgoing: Outgoing = request.app.state.outgoing
        event = await outgoing.event(
            FEEDBACK_SUBMITTED,
            to_feedback(body, now=ids.moment),  # mapped above already: only the moment may differ
            clinic_id=ids.clinic_id,
            source=f"/clinics/{ids.clinic_id}/fhir",
            event_id=ids.for_item(),
            time=ids.moment,
        )
        await publish_one(request.app.state.broker, FEEDBACK_SUBMITTED, event)
        return StoredAnswer(
            202, {**outcome("informational", f"accepted as event {event.id}"), "id": event.id}
        )

    answer = await answer_once(request, clinic, idempotency_key, work, (data.client_id,))
    answer.media_type = FHIR_JSON
    answer.headers["content-type"] = FHIR_JSON
    return answer


def install_fhir_errors(app: FastAPI) -> None:
    """Errors under /v1/fhir/ and /fhir/ become OperationOutcome; elsewhere FastAPI's usual JSON."""

    async def on_http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if not _is_fhir(request.url.path):
            return await http_exception_handler(request, error)
        code = ISSUE_CODES.get(error.status_code, "invalid")
        response = _outcome_response(error.status_code, [(code, str(error.detail), None)])
        response.headers.update(error.headers or {})
        return response

    async def on_invalid_request(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        if not _is_fhir(request.url.path):
            return await request_validation_exception_handler(request, error)
        if any(e["type"] == "json_invalid" for e in error.errors()):
            return _outcome_response(400, [("structure", e["msg"], None) for e in error.errors()])
        return _outcome_response(422, [("structure", *_named(e["loc"], e["msg"])) for e in error.errors()])

    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)


def _is_fhir(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in FHIR_PATHS)


def _named(location: tuple[int | str, ...], why: str) -> tuple[str, str | None]:
    """The problem and the element it is about: a body element by FHIRPath (``('body', 'item', 2, 'answer', 0,
    'valueDecimal')`` is ``QuestionnaireResponse.item[2].answer[0].valueDecimal``); a header or query parameter,
    which FHIRPath cannot name, in the words."""
    where, *path = location
    if where != "body":
        return f"{path[-1] if path else where}: {why}", None
    return why, BODY_RESOURCE + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _outcome_response(status_code: int, issues: list[tuple[str, str, str | None]]) -> JSONResponse:
    document: dict[str, Any] = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": code,
                "diagnostics": why,
                **({"expression": [where]} if where else {}),
            }
            for code, why, where in issues
        ],
    }
    return JSONResponse(document, status_code=status_code, media_type=FHIR_JSON)
