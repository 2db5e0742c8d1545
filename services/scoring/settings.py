from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    port: int = Field(default=8002, validation_alias=AliasChoices("SCORING_PORT"), description="HTTP port.")
    group_id: str = Field(
        default="scoring",
        validation_alias=AliasChoices("SCORING_GROUP_ID"),
        description="Kafka consumer group of the scoring service (tests give each app its own).",
    )
    active_days: int = Field(
        default=90,
        ge=1,
        validation_alias=AliasChoices("SCORING_ACTIVE_DAYS"),
        description="A client is active when their latest session is at most this many days before now.",
    )
