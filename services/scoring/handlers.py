"""Kafka entry points of the scoring service: decode, apply, done (offsets commit after the transaction)."""

from faststream.kafka import KafkaBroker

from services.scoring.service import ScoringService
from shared.contracts import (
    FEEDBACK_SUBMITTED,
    SESSION_COMPLETED,
    CloudEvent,
    FeedbackSubmittedV1,
    SessionCompletedV1,
)
from shared.messaging import subscribe

GROUP_ID = "scoring"


def register(broker: KafkaBroker, service: ScoringService) -> None:
    @subscribe(broker, SESSION_COMPLETED, GROUP_ID)
    async def on_session_completed(event: CloudEvent[SessionCompletedV1]) -> None:
        await service.apply(event)

    @subscribe(broker, FEEDBACK_SUBMITTED, GROUP_ID)
    async def on_feedback_submitted(event: CloudEvent[FeedbackSubmittedV1]) -> None:
        await service.apply(event)
