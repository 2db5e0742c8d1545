from typing import Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from services.notify.webhook_secrets import rotation_problem, secret_problem
from shared.settings import ServiceSettings


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class NotifySettings(ServiceSettings):
    # An error about a setting never prints its value: most of them are secrets.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    port: int = Field(default=8003, validation_alias=_env("NOTIFY_PORT"), description="HTTP port.")
    group_id: str = Field(
        default="notify",
        validation_alias=_env("NOTIFY_GROUP_ID"),
        description="Kafka consumer group of the notify service (tests give each app its own).",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8003",
        validation_alias=_env("NOTIFY_PUBLIC_URL"),
        description="Base URL of this service as recipients reach it: acknowledgement links start here.",
    )
    dashboard_url: str = Field(
        default="http://127.0.0.1:8002",
        validation_alias=AliasChoices("SCORING_PUBLIC_URL", "DASHBOARD_URL"),
        description="Base URL of the clinician views (the scoring service as browsers reach it).",
    )
    view_secret: SecretStr = Field(
        default=SecretStr("dev-view-secret-change-me"),
        validation_alias=_env("SCORING_VIEW_SECRET"),
        description="Signs the view links alerts carry; the same secret as the scoring service's.",
    )
    view_link_days: int = Field(
        default=14,
        ge=1,
        validation_alias=_env("SCORING_VIEW_LINK_DAYS"),
        description="How long a view link opens.",
    )
    # Webhooks
    webhook_url: str | None = Field(
        default=None,
        validation_alias=_env("NOTIFY_WEBHOOK_URL"),
        description="Fallback: clinics without stored routing send every therapist's alerts here.",
    )
    webhook_secret: SecretStr = Field(
        default=SecretStr("dev-webhook-secret-change-me"),
        validation_alias=_env("NOTIFY_WEBHOOK_SECRET"),
        description="Signs webhooks of clinics that stored no secret of their own (and the fallback URL): a "
        "whsec_ secret, or a plain one of 16–256 characters.",
    )
    webhook_previous_secret: SecretStr | None = Field(
        default=None,
        validation_alias=_env("NOTIFY_WEBHOOK_PREVIOUS_SECRET"),
        description="During a rotation of NOTIFY_WEBHOOK_SECRET (then a whsec_ secret): the secret it "
        "replaces, which signs every webhook too until it is removed.",
    )
    webhook_timeout_seconds: float = Field(
        default=5.0, validation_alias=_env("NOTIFY_WEBHOOK_TIMEOUT_SECONDS")
    )
    # E-mail
    smtp_host: str = Field(default="127.0.0.1", validation_alias=_env("NOTIFY_SMTP_HOST"))
    smtp_port: int = Field(default=25, validation_alias=_env("NOTIFY_SMTP_PORT"))
    smtp_starttls: bool = Field(default=False, validation_alias=_env("NOTIFY_SMTP_STARTTLS"))
    smtp_username: str | None = Field(default=None, validation_alias=_env("NOTIFY_SMTP_USERNAME"))
    smtp_password: SecretStr | None = Field(default=None, validation_alias=_env("NOTIFY_SMTP_PASSWORD"))
    smtp_from: str = Field(default="alliance-alerts@localhost", validation_alias=_env("NOTIFY_SMTP_FROM"))
    smtp_timeout_seconds: float = Field(default=10.0, validation_alias=_env("NOTIFY_SMTP_TIMEOUT_SECONDS"))
    # Acknowledgement links
    ack_secret: SecretStr = Field(
        default=SecretStr("dev-ack-secret-change-me"),
        validation_alias=_env("NOTIFY_ACK_SECRET"),
        description="Signs acknowledgement links.",
    )
    ack_link_max_age_days: int = Field(
        default=30, ge=1, validation_alias=_env("NOTIFY_ACK_LINK_MAX_AGE_DAYS")
    )
    # Delivery worker
    delivery_attempts: int = Field(
        default=12,
        ge=1,
        validation_alias=_env("NOTIFY_DELIVERY_ATTEMPTS"),
        description="Attempts per delivery before it fails; with the backoff below they span about 20 minutes.",
    )
    backoff_initial_seconds: float = Field(
        default=2.0, gt=0, validation_alias=_env("NOTIFY_BACKOFF_INITIAL_SECONDS")
    )
    backoff_max_seconds: float = Field(
        default=300.0, gt=0, validation_alias=_env("NOTIFY_BACKOFF_MAX_SECONDS")
    )
    delivery_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias=_env("NOTIFY_DELIVERY_LEASE_SECONDS"),
        description="A claimed delivery whose worker died is retried after this long.",
    )
    worker_poll_seconds: float = Field(default=1.0, gt=0, validation_alias=_env("NOTIFY_WORKER_POLL_SECONDS"))

    @field_validator("webhook_secret", "webhook_previous_secret")
    @classmethod
    def _signs_webhooks(cls, secret: SecretStr | None) -> SecretStr | None:
        problem = secret_problem(secret.get_secret_value()) if secret else None
        if problem:
            raise ValueError(problem)
        return secret

    @model_validator(mode="after")
    def _a_rotation(self) -> Self:
        # Alone, NOTIFY_WEBHOOK_SECRET may stay a plain secret; a rotation moves to a whsec_ one.
        problem = rotation_problem(self.default_webhook_secrets) if self.webhook_previous_secret else None
        if problem:
            raise ValueError(f"NOTIFY_WEBHOOK_SECRET and NOTIFY_WEBHOOK_PREVIOUS_SECRET: {problem}")
        return self

    @property
    def default_webhook_secrets(self) -> list[str]:
        """The service's webhook secrets, newest first."""
        previous = self.webhook_previous_secret
        return [self.webhook_secret.get_secret_value(), *([previous.get_secret_value()] if previous else [])]
