from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings

DEV_LINK_SECRET = "dev-only-feedback-link-secret-change-me"


class FeedbackSettings(ServiceSettings):
    port: int = Field(default=8001, validation_alias=AliasChoices("FEEDBACK_PORT"), description="HTTP port.")
    workers: int = Field(
        default=1,
        ge=1,
        validation_alias=AliasChoices("FEEDBACK_WORKERS"),
        description=(
            "Worker processes behind the one FEEDBACK_PORT (about one per core), each with its own Kafka "
            "producer and MongoDB client; the first of them alone reads the clients' goals from Kafka, under "
            "INSTANCE_ID. A SIGTERM to the parent stops them all, each draining its requests first."
        ),
    )
    group_id: str = Field(
        default="feedback",
        validation_alias=AliasChoices("FEEDBACK_GROUP_ID"),
        description=(
            "Names the Kafka consumer groups of the feedback service: it reads the clients' goals from "
            "client.events in `<FEEDBACK_GROUP_ID>.goals` (tests give each app its own)."
        ),
    )
    demo_api_key: str = Field(
        default="dev-demo-key",
        validation_alias=AliasChoices("DEMO_API_KEY"),
        description="API key of the demo clinic that `make up` creates.",
    )
    publish_timeout_ms: int = Field(
        default=3000,
        ge=500,
        validation_alias=AliasChoices("FEEDBACK_PUBLISH_TIMEOUT_MS"),
        description="How long a write may wait for Kafka before the request is answered 503.",
    )
    mongodb_timeout_ms: int = Field(
        default=5000,
        ge=500,
        validation_alias=AliasChoices("FEEDBACK_MONGODB_TIMEOUT_MS"),
        description=(
            "How long one MongoDB operation of the intake (Idempotency-Key and link records) may take, retries "
            "included, before the request is answered 503. A primary cut off from the others answers nothing "
            "until it is replaced; without this bound a request waited for the socket timeout (30 s)."
        ),
    )
    rate_limit: str = Field(
        default="600/minute",
        validation_alias=AliasChoices("FEEDBACK_RATE_LIMIT"),
        description=(
            "Requests allowed per API key, in the `limits` notation (e.g. '600/minute'): one budget, counted in "
            "MongoDB and shared by every worker and replica (a sliding window of that length)."
        ),
    )
    idempotency_hours: int = Field(
        default=24,
        ge=1,
        validation_alias=AliasChoices("FEEDBACK_IDEMPOTENCY_HOURS"),
        description="How long an Idempotency-Key replays its first answer.",
    )
    link_secret: str = Field(
        default=DEV_LINK_SECRET,
        validation_alias=AliasChoices("FEEDBACK_LINK_SECRET"),
        description="Signs client feedback links. The default is for development only.",
    )
    link_hours: int = Field(
        default=72,
        ge=1,
        le=24 * 30,
        validation_alias=AliasChoices("FEEDBACK_LINK_HOURS"),
        description="Default lifetime of a client feedback link.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8001",
        validation_alias=AliasChoices("FEEDBACK_PUBLIC_URL"),
        description="Base URL clients reach this service at; feedback links start with it.",
    )
