from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class FeedbackSettings(ServiceSettings):
    port: int = Field(default=8001, validation_alias=AliasChoices("FEEDBACK_PORT"), description="HTTP port.")
    demo_api_key: str = Field(
        default="dev-demo-key",
        validation_alias=AliasChoices("DEMO_API_KEY"),
        description="API key of the demo clinic that `make up` creates.",
    )
