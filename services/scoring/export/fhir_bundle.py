"""The client's export as a FHIR R4 ``Bundle`` of type ``collection``: a pure function of the JSON export.

| export | FHIR R4 |
|---|---|
| each rating (``feedback.submitted``) | a ``QuestionnaireResponse`` (status completed) |
| its instrument | ``questionnaire`` = ``https://alliance-platform.org/fhir/Questionnaire/<instrument>``, the canonical the feedback service's FHIR intake reads |
| the client, the therapist, the session | references by identifier: the pseudonym, in a system of the clinic's (``.../clinic/<clinic>/client``, ``/therapist``, ``/session``) |
| ``submitted_at``, ``session_at`` | ``authored``; the extension ``.../StructureDefinition/session-at`` (as the intake reads it) |
| respondent | ``author``: the client (Patient) or the therapist (Practitioner) |
| each item | ``item`` with ``linkId`` = the item's name and ``answer[0].valueDecimal`` |
| the comment, when there is one | ``item`` ``comment`` with ``answer[0].valueString``, in the clear |
| the total of srs, ors and wai_sr | an ``Observation`` (status final, category survey), ``valueQuantity`` the total, ``derivedFrom`` the response |
| wai_sr's subscales (task, bond, goal) | the Observation's ``component``, one a subscale |

A rupture report (psq) and goal ratings (gbo) have no total (``shared.instruments``): a response, no
Observation. No LOINC code exists for these instruments: the codes are the project's own CodeSystem's. Every
``fullUrl`` is a ``urn:uuid`` derived from the clinic, the client and the rating's event id, so exporting the
same history twice gives the same entries.
"""

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from services.scoring.export.client_export import ClientExport, ExportedEvent
from shared.instruments import INSTRUMENTS, NAMES, WAI_SR_SUBSCALES, AllianceDimension, Instrument, Respondent

FHIR_JSON = "application/fhir+json"
BASE_URL = "https://alliance-platform.org/fhir"
SESSION_AT_EXTENSION = f"{BASE_URL}/StructureDefinition/session-at"
THERAPIST_EXTENSION = f"{BASE_URL}/StructureDefinition/therapist"
SCORES = f"{BASE_URL}/CodeSystem/scores"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"
RATING_TYPE = "org.alliance.feedback.submitted."
_NAMESPACE = uuid.UUID("0b8a3d52-51c4-4e0c-9b7e-5d7b7f3f2a61")

TOTALLED = frozenset({Instrument.SRS, Instrument.ORS, Instrument.WAI_SR})
SUBSCALES: Mapping[Instrument, Mapping[AllianceDimension, tuple[str, ...]]] = {
    Instrument.WAI_SR: WAI_SR_SUBSCALES
}
Resource = dict[str, Any]


class Rating(BaseModel):
    """What the mapping reads of a rating event's data."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    session_id: str
    therapist_id: str
    client_id: str
    session_at: AwareDatetime
    instrument: Instrument
    respondent: Respondent
    items: dict[str, float]
    comment: str | None = None
    submitted_at: AwareDatetime


def fhir_bundle(export: ClientExport) -> Resource:
    """The export as a FHIR R4 collection Bundle: per rating a QuestionnaireResponse, then its total's
    Observation (if the instrument has a total)."""
    people = _People(export.clinic_id, export.client_id)
    entries: list[Resource] = []
    for event in export.events:
        if not event.type.startswith(RATING_TYPE):
            continue
        rating = Rating.model_validate(event.data)
        response_url = _urn(export, event, "response")
        entries.append({"fullUrl": response_url, "resource": questionnaire_response(event, rating, people)})
        if rating.instrument in TOTALLED:
            observation = total_observation(rating, people, response_url)
            entries.append({"fullUrl": _urn(export, event, "total"), "resource": observation})
    return {
        "resourceType": "Bundle",
        "identifier": {
            "system": f"{BASE_URL}/export",
            "value": str(
                uuid.uuid5(_NAMESPACE, _key(export.clinic_id, export.client_id, _instant(export.exported_at)))
            ),
        },
        "type": "collection",
        "timestamp": _instant(export.exported_at),
        "entry": entries,
    }


class _People:
    """References by identifier: pseudonyms are unique within their clinic, so each system is the clinic's."""

    def __init__(self, clinic_id: str, client_id: str) -> None:
        self.system = f"{BASE_URL}/clinic/{clinic_id}"
        self.client = self.reference("Patient", "client", client_id)

    def reference(self, resource: str, kind: str, value: str) -> Resource:
        return {"type": resource, "identifier": {"system": f"{self.system}/{kind}", "value": value}}

    def therapist(self, therapist_id: str) -> Resource:
        return self.reference("Practitioner", "therapist", therapist_id)

    def session(self, session_id: str) -> Resource:
        return self.reference("Encounter", "session", session_id)

    def respondent(self, rating: Rating) -> Resource:
        return self.client if rating.respondent is Respondent.CLIENT else self.therapist(rating.therapist_id)


def questionnaire_response(event: ExportedEvent, rating: Rating, people: _People) -> Resource:
    items: list[Resource] = [
        {"linkId": name, "answer": [{"valueDecimal": rating.items[name]}]}
        for name in INSTRUMENTS[rating.instrument].items
        if name in rating.items
    ]
    if rating.comment:
        items.append({"linkId": "comment", "answer": [{"valueString": rating.comment}]})
    return {
        "resourceType": "QuestionnaireResponse",
        "extension": [
            {"url": SESSION_AT_EXTENSION, "valueDateTime": _instant(rating.session_at)},
            {"url": THERAPIST_EXTENSION, "valueReference": people.therapist(rating.therapist_id)},
        ],
        "identifier": {"system": f"{BASE_URL}/event", "value": event.id},
        "questionnaire": f"{BASE_URL}/Questionnaire/{rating.instrument.value}",
        "status": "completed",
        "subject": people.client,
        "encounter": people.session(rating.session_id),
        "authored": _instant(rating.submitted_at),
        "author": people.respondent(rating),
        "item": items,
    }


def total_observation(rating: Rating, people: _People, response_url: str) -> Resource:
    short, full = NAMES[rating.instrument]
    instrument = rating.instrument.value
    components = [
        {
            "code": _code(
                f"{instrument}-{dimension.value}", f"{short} {dimension.value} subscale ({', '.join(items)})"
            ),
            "valueQuantity": _score(_sum(rating, items)),
        }
        for dimension, items in SUBSCALES.get(rating.instrument, {}).items()
    ]
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": _code(f"{instrument}-total", f"{full} ({short}) total score"),
        "subject": people.client,
        "encounter": people.session(rating.session_id),
        "effectiveDateTime": _instant(rating.session_at),
        "issued": _instant(rating.submitted_at),
        "performer": [people.respondent(rating)],
        "valueQuantity": _score(_sum(rating, INSTRUMENTS[rating.instrument].items)),
        "derivedFrom": [{"reference": response_url, "type": "QuestionnaireResponse"}],
        **({"component": components} if components else {}),
    }


def _code(code: str, text: str) -> Resource:
    return {"coding": [{"system": SCORES, "code": code, "display": text}], "text": text}


def _score(value: Decimal) -> Resource:
    return {"value": float(value), "unit": "score", "system": UCUM, "code": "{score}"}


def _sum(rating: Rating, items: tuple[str, ...]) -> Decimal:
    """Exact, as the rules add them: 9.1 + 8.4 + 8.8 + 8.9 is 35.2, not 35.199999999999996."""
    return sum((Decimal(str(rating.items[name])) for name in items if name in rating.items), Decimal(0))


def _urn(export: ClientExport, event: ExportedEvent, part: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, _key(export.clinic_id, export.client_id, event.id, part))}"


def _key(*parts: str) -> str:
    return "\x1f".join(parts)


def _instant(moment: datetime) -> str:
    """RFC 3339 with an offset: FHIR's dateTime and instant both read it."""
    return moment.isoformat()
