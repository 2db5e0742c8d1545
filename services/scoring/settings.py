from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    port: int = Field(default=8002, validation_alias=AliasChoices("SCORING_PORT"), description="HTTP port.")
