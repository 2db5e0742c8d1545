"""Kafka entry points of the scoring service: decode, apply, done (offsets commit after the transaction)."""

from faststream.kafka import KafkaBroker

from services.scoring.service import ScoringService
from shared.contracts import (
    FEEDBACK_SUBMITTED,
    RUPTURE_ACKNOWLEDGED,
    SESSION_COMPLETED,
    CloudEvent,
    FeedbackSubmittedV1,
    RuptureAcknowledgedV1,
    SessionCompletedV1,
)
from shared.messaging import subscribe


def register(broker: KafkaBroker, service: ScoringService, group_id: str) -> None:
    @subscribe(broker, SESSION_COMPLETED, group_id)
    async def on_session_completed(event: CloudEvent[SessionCompletedV1]) -> None:
        await service.apply(event)

    @subscribe(broker, FEEDBACK_SUBMITTED, group_id)
    async def on_feedback_submitted(event: CloudEvent[FeedbackSubmittedV1]) -> None:
        await service.apply(event)

    @subscribe(broker, RUPTURE_ACKNOWLEDGED, group_id)
    async def on_rupture_acknowledged(event: CloudEvent[RuptureAcknowledgedV1]) -> None:
        await service.acknowledge(event)
