from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    port: int = Field(default=8003, validation_alias=AliasChoices("NOTIFY_PORT"), description="HTTP port.")
    webhook_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("NOTIFY_WEBHOOK_URL"),
        description="Where rupture alerts are POSTed as JSON; unset means alerts are only logged and counted.",
    )
    webhook_timeout_seconds: float = Field(
        default=5.0, validation_alias=AliasChoices("NOTIFY_WEBHOOK_TIMEOUT_SECONDS")
    )
