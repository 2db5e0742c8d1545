"""GET /fhir/Questionnaire/{id} and the search GET /fhir/Questionnaire (all, or ?url= a canonical URL).

Public, without an API key: a Questionnaire defines a form and holds no one's data, and a form renderer or an
EHR resolves it before any clinic's key is at hand. The definitions are built once, at start-up.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from services.feedback.fhir.questionnaires import questionnaire
from services.feedback.fhir.resources import FHIR_JSON
from shared.instruments import Instrument

router = APIRouter(prefix="/fhir", tags=["FHIR"])
PUBLISHED = [questionnaire(instrument) for instrument in Instrument]
# By the resource's id (wai-sr) and by the instrument's name (wai_sr): both read the same Questionnaire.
BY_NAME = {
    name: resource
    for instrument, resource in zip(Instrument, PUBLISHED, strict=True)
    for name in (resource["id"], instrument.value)
}
SRS = BY_NAME[Instrument.SRS.value]  # the documents' example


class FhirJSONResponse(JSONResponse):
    media_type = FHIR_JSON


@router.get(
    "/Questionnaire/{name}",
    response_class=FhirJSONResponse,
    responses={
        200: {"description": "The Questionnaire", "content": {FHIR_JSON: {"example": SRS}}},
        404: {"description": "No such Questionnaire (OperationOutcome, code not-found)"},
        422: {"description": "A name over 64 characters (OperationOutcome)"},
    },
    summary="An instrument's FHIR R4 Questionnaire (no API key)",
)
async def read_questionnaire(
    name: Annotated[
        str,
        Path(
            max_length=64,
            description="The resource's id (`srs`, `ors`, `wai-sr`, `psq`, `gbo`) or the instrument's name "
            "(`wai_sr`).",
            examples=["srs", "wai-sr"],
        ),
    ],
) -> FhirJSONResponse:
    resource = BY_NAME.get(name)
    if resource is None:
        known = ", ".join(resource["id"] for resource in PUBLISHED)
        raise HTTPException(404, f"no Questionnaire {name!r}; there are {known}")
    return FhirJSONResponse(resource)


@router.get(
    "/Questionnaire",
    response_class=FhirJSONResponse,
    responses={
        200: {
            "description": "A searchset Bundle of the Questionnaires found",
            "content": {FHIR_JSON: {"example": {"resourceType": "Bundle", "type": "searchset", "total": 1}}},
        },
        422: {"description": "A url over 300 characters (OperationOutcome)"},
    },
    summary="Search the Questionnaires: all of them, or the one with a canonical URL (no API key)",
)
async def search_questionnaires(
    request: Request,
    url: Annotated[
        str | None,
        Query(
            max_length=300,
            description="A canonical URL, as a response's `questionnaire` names it; a `|version` suffix must "
            "match the version.",
            examples=["https://alliance-platform.org/fhir/Questionnaire/srs"],
        ),
    ] = None,
) -> FhirJSONResponse:
    canonical, _, version = (url or "").partition("|")
    found = [
        resource
        for resource in PUBLISHED
        if url is None or (resource["url"] == canonical and version in ("", resource["version"]))
    ]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "link": [{"relation": "self", "url": str(request.url)}],
    }
    if found:  # FHIR JSON has no empty arrays
        bundle["entry"] = [
            {
                "fullUrl": str(request.url_for("read_questionnaire", name=resource["id"])),
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in found
        ]
    return FhirJSONResponse(bundle)
