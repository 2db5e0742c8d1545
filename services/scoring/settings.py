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
    trajectory_fit_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 366,
        validation_alias=AliasChoices("SCORING_TRAJECTORY_FIT_HOURS"),
        description=(
            "Expected trajectories are refitted when the latest fit is older than this: on start-up, then"
            " whenever it gets so (checked every few minutes), by one replica at a time."
        ),
    )
