"""The part of FHIR R4 this service reads and writes: QuestionnaireResponse in, OperationOutcome out.

Only the elements the mapping uses are modelled; any other element of the resource (id, meta, text,
identifier ...) is accepted and ignored, as FHIR servers commonly do. An answer keeps whatever value[x] it
carries, so that a value of the wrong type is refused by its name instead of being dropped unseen.
"""

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.instruments import Instrument

BASE_URL = "https://alliance-platform.org/fhir"


def canonical_url(instrument: Instrument) -> str:
    """The instrument's Questionnaire (no LOINC codes exist for these): what a response's `questionnaire` names."""
    return f"{BASE_URL}/Questionnaire/{instrument.value}"


QUESTIONNAIRES = {canonical_url(instrument): instrument.value for instrument in Instrument}
THERAPIST_EXTENSION = f"{BASE_URL}/StructureDefinition/therapist"
SESSION_AT_EXTENSION = f"{BASE_URL}/StructureDefinition/session-at"
FHIR_JSON = "application/fhir+json"
COMMENT = "comment"  # the linkId of the free-text item every Questionnaire ends with
COMMENT_MAX_LENGTH = 2000


class Element(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class Reference(Element):
    reference: str = Field(max_length=200, examples=["Patient/c-311"])


class Answer(Element):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    # Strict: FHIR JSON writes a decimal or an integer as a number and a boolean as true/false, never as a string.
    valueDecimal: float | None = Field(default=None, strict=True)
    valueInteger: int | None = Field(default=None, strict=True)
    valueBoolean: bool | None = Field(
        default=None, strict=True, description="A yes/no item: psq `tension` (true is 1)."
    )
    valueString: str | None = Field(default=None, max_length=COMMENT_MAX_LENGTH)

    @property
    def value_elements(self) -> list[str]:
        """The names of the value[x] elements it carries, modelled or not (``valueCoding``, ``valueDate`` ...)."""
        modelled = [name for name in type(self).model_fields if getattr(self, name) is not None]
        return modelled + [name for name in self.model_extra or {} if name.startswith("value")]


class Item(Element):
    linkId: str = Field(
        max_length=64, description="The item's name, e.g. `relationship`, `q7` or (gbo) `goal_1`."
    )
    answer: list[Answer] = Field(default_factory=list, max_length=1)


class Extension(Element):
    url: str = Field(max_length=200)
    valueDateTime: AwareDatetime | None = None
    valueReference: Reference | None = None


class QuestionnaireResponse(Element):
    resourceType: Literal["QuestionnaireResponse"]
    status: str = Field(max_length=32, description="Must be `completed`.")
    questionnaire: str = Field(max_length=200, description=f"One of {', '.join(QUESTIONNAIRES)}.")
    subject: Reference = Field(description="`Patient/<client_id>`.")
    encounter: Reference = Field(description="`Encounter/<session_id>`.")
    author: Reference | None = Field(
        default=None,
        description="`Patient/<client_id>` (respondent client, the default) or `Practitioner/<therapist_id>`.",
    )
    authored: AwareDatetime | None = Field(default=None, description="Becomes submitted_at; now when absent.")
    extension: list[Extension] = Field(default_factory=list, max_length=20)
    item: list[Item] = Field(min_length=1, max_length=20)


class Issue(BaseModel):
    severity: Literal["fatal", "error", "warning", "information"]
    code: str
    diagnostics: str | None = None
    expression: list[str] | None = None


class OperationOutcome(BaseModel):
    resourceType: Literal["OperationOutcome"] = "OperationOutcome"
    id: str | None = None
    issue: list[Issue]


def outcome(code: str, diagnostics: str, expression: str | None = None) -> dict[str, Any]:
    issue = Issue(
        severity="information" if code == "informational" else "error",
        code=code,
        diagnostics=diagnostics,
        expression=[expression] if expression else None,
    )
    return OperationOutcome(issue=[issue]).model_dump(exclude_none=True)
