"""The CloudEvents 1.0 envelope (JSON, structured mode) around every event."""

from datetime import UTC, datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.fields import OpaqueId, Timestamp

DataT = TypeVar("DataT", bound=BaseModel)


class CloudEvent(BaseModel, Generic[DataT]):
    """A CloudEvents 1.0 event; ``clinicid`` is an extension attribute naming the tenant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(
        min_length=1, max_length=128, description="Unique per event; consumers deduplicate on it."
    )
    source: str = Field(min_length=1, max_length=256, description="URI reference of the producer.")
    type: str = Field(description="Event name and version, e.g. org.alliance.feedback.submitted.v1.")
    time: Timestamp = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = Field(default=None, description="clinic_id:client_id, the partition key.")
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = Field(default=None, description="URN of the JSON Schema of data.")
    clinicid: OpaqueId = Field(description="The clinic (tenant) the event belongs to.")
    data: DataT
