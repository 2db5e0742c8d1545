from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """Settings of the clinician views (read from the environment; tests give them by name)."""

    model_config = SettingsConfigDict(extra="ignore", validate_by_name=True, validate_by_alias=True)

    secret: SecretStr = Field(
        default=SecretStr("dev-view-secret-change-me"),
        validation_alias=AliasChoices("SCORING_VIEW_SECRET"),
        description="Signs view links and session cookies. Whoever mints view links (notify) shares it.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8002",
        validation_alias=AliasChoices("SCORING_PUBLIC_URL"),
        description="Base URL of this service as clinicians' browsers reach it: view links start here.",
    )
    link_max_age_days: int = Field(
        default=14,
        ge=1,
        validation_alias=AliasChoices("SCORING_VIEW_LINK_DAYS"),
        description="How long a signed view link opens its view (outlives the 48 h escalation window).",
    )
    session_max_age_hours: int = Field(
        default=8,
        ge=1,
        validation_alias=AliasChoices("SCORING_VIEW_SESSION_HOURS"),
        description="How long a view session (the cookie a link or a sign-in gives) lasts.",
    )

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")
