from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    port: int = Field(default=8002, validation_alias=AliasChoices("SCORING_PORT"), description="HTTP port.")
    group_id: str = Field(
        default="scoring",
        validation_alias=AliasChoices("SCORING_GROUP_ID"),
        description="Kafka consumer group of the scoring service (tests give each app its own).",
    )
    batch_max_records: int = Field(
        default=500,
        ge=1,
        le=10_000,
        validation_alias=AliasChoices("SCORING_BATCH_MAX_RECORDS"),
        description="Most events consumed and applied in one MongoDB transaction.",
    )
    active_days: int = Field(
        default=90,
        ge=1,
        validation_alias=AliasChoices("SCORING_ACTIVE_DAYS"),
        description="A client is active when their latest session is at most this many days before now.",
    )
