"""The CloudEvents 1.0 envelope around every event (JSON event format; shared/contracts/binding.py says how it
travels in a Kafka record, in either content mode)."""

import re
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from shared.contracts.fields import OpaqueId, Timestamp

DataT = TypeVar("DataT", bound=BaseModel)
JSON = "application/json"
# CloudEvents attribute names: lower-case ASCII letters and digits. The spec asks for 20 characters at most
# but only SHOULD; longer ones are refused here only past a bound that keeps a record's headers small.
_ATTRIBUTE_NAME = re.compile(r"^[a-z0-9]{1,64}$")
_JSON_MEDIA_TYPE = re.compile(r"^application/(?:[a-z0-9.+-]+\+)?json\s*(?:;.*)?$", re.IGNORECASE)
MAX_EXTENSIONS = 32
MAX_EXTENSION_TEXT = 1024
# The validation context of an event read back from the platform's own store. It was validated in full when it
# arrived, so what only a new event needs checking (a rating's items against its instrument) is not checked
# again each time a client's history is loaded: scoring loads whole histories, batch after batch.
STORED = {"stored": True}


def is_stored(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and info.context.get("stored") is True


class CloudEvent(BaseModel, Generic[DataT]):
    """A CloudEvents 1.0 event; ``clinicid`` is an extension attribute naming the tenant.

    Other extension attributes (``partitionkey``, ``traceparent``, a producer's own) are accepted and kept: a
    consumer must not refuse an event for carrying one. They are never read for the tenant: only ``clinicid``
    is, and the subject (``clinic_id:client_id``) must name the same clinic.
    """

    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        json_schema_extra={
            "propertyNames": {"pattern": _ATTRIBUTE_NAME.pattern},
            "additionalProperties": {"type": ["string", "integer", "boolean"]},
        },
    )

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(
        min_length=1, max_length=128, description="Unique per event; consumers deduplicate on it."
    )
    source: str = Field(min_length=1, max_length=256, description="URI reference of the producer.")
    type: str = Field(description="Event name and version, e.g. org.alliance.feedback.submitted.v1.")
    time: Timestamp = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = Field(default=None, description="clinic_id:client_id, the partition key.")
    datacontenttype: str = Field(
        default=JSON, max_length=128, description="A JSON media type; absent means application/json."
    )
    dataschema: str | None = Field(default=None, description="URN of the JSON Schema of data.")
    clinicid: OpaqueId = Field(description="The clinic (tenant) the event belongs to.")
    data: DataT

    @field_validator("datacontenttype")
    @classmethod
    def _json_data(cls, media_type: str) -> str:
        if not _JSON_MEDIA_TYPE.match(media_type):
            raise ValueError(f"{media_type!r} is not a JSON media type: data must be a JSON object")
        return media_type

    @model_validator(mode="after")
    def _extensions_and_tenant(self) -> "CloudEvent[DataT]":
        extensions = self.model_extra or {}
        if len(extensions) > MAX_EXTENSIONS:
            raise ValueError(f"{len(extensions)} extension attributes; at most {MAX_EXTENSIONS} are read")
        for name, value in extensions.items():
            check_extension(name, value)
        clinic = self.subject.split(":", 1)[0] if self.subject and ":" in self.subject else None
        if clinic is not None and clinic != self.clinicid:
            raise ValueError(f"subject names clinic {clinic!r}, not the event's clinicid {self.clinicid!r}")
        return self

    @property
    def extensions(self) -> dict[str, Any]:
        """The extension attributes besides ``clinicid``, as received."""
        return dict(self.model_extra or {})


def check_extension(name: str, value: Any) -> None:
    """An extension attribute as the JSON event format may carry it; ValueError says what is wrong."""
    if name == "data_base64":
        raise ValueError("data_base64: binary data is not read; data must be a JSON object")
    if not _ATTRIBUTE_NAME.match(name):
        raise ValueError(
            f"{name!r} is not a CloudEvents attribute name (lower-case letters and digits, 64 at most)"
        )
    if isinstance(value, bool | int):
        return
    if not isinstance(value, str):
        raise ValueError(f"extension {name}: a string, integer or boolean, not {type(value).__name__}")
    if len(value) > MAX_EXTENSION_TEXT:
        raise ValueError(f"extension {name}: longer than {MAX_EXTENSION_TEXT} characters")
