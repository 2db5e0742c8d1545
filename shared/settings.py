"""Settings every service shares, read from environment variables with working local defaults."""

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    # Fields read their environment variable (the alias) and can also be given by name, as tests do.
    model_config = SettingsConfigDict(extra="ignore", validate_by_name=True, validate_by_alias=True)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Comma-separated Kafka bootstrap servers."
    )

    @property
    def kafka_servers(self) -> list[str]:
        """The bootstrap servers one by one. FastStream takes a string as one single address (aiokafka alone
        would split it), so a cluster's list must reach the broker as a list."""
        return [server.strip() for server in self.kafka_bootstrap_servers.split(",") if server.strip()]

    mongodb_uri: str = Field(
        default="mongodb://127.0.0.1:27017/?replicaSet=rs0",
        description="MongoDB connection string; a replica set, so transactions exist.",
    )
    mongodb_database: str = Field(default="alliance", description="The one database all services share.")
    log_level: str = Field(default="INFO", description="Python log level name.")
    key_encryption_keys: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("ALLIANCE_KEKS", "key_encryption_keys"),
        description=(
            "The key-encryption keys that wrap every client's data key: id:base64 of 32 random bytes, comma-"
            "separated; the first wraps new keys (docs/privacy.md). Required: a service does not start without it."
        ),
    )
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "otlp_endpoint"),
        description=(
            "OTLP/HTTP endpoint that traces are exported to, e.g. http://127.0.0.1:4318 (Jaeger's). Unset, tracing"
            ' is off and nothing is instrumented (docs/operations.md, "Tracing").'
        ),
    )
    http_host: str = Field(default="127.0.0.1", description="Interface the HTTP port binds to.")
    instance_id: str | None = Field(
        default=None,
        description=(
            "This replica's stable name in its consumer groups (Kafka static membership): restarted under the"
            " same name, it takes its partitions back at once instead of after the group's session timeout."
            " Unique per replica of a service; unset, membership is dynamic."
        ),
    )
    event_content_mode: Literal["structured", "binary"] = Field(
        default="structured",
        description=(
            "How the events this service publishes travel in Kafka records (the CloudEvents Kafka binding):"
            " structured (the whole event as the value) or binary (attributes as ce_ headers, data as the"
            " value). Consumers read both either way."
        ),
    )
    shutdown_grace_seconds: float = Field(
        default=8.0, description="How long shutdown waits for in-flight work before giving up."
    )
