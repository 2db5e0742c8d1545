"""Kafka entry points of the scoring service: decode, apply, done (offsets commit after the transaction).

One batch subscriber reads the inbound topics, so a poll's events are applied in one transaction
(``ScoringService.apply_batch``); records it refuses are dead-lettered one by one:

- ``client.events``: each client's session records, ratings, shared notes and the client's answers to them,
  and the goals agreed and closed, in the order they were produced (a record of a type scoring does not read there is dead-lettered, reason
  ``contract``);
- ``rupture.acknowledged``: clinicians' acknowledgements;
- deprecated for one release, ``session.completed`` and ``feedback.submitted``: what systems producing to
  Kafka directly still send there (the platform itself no longer writes to them).
"""

from collections.abc import Sequence
from typing import Any

from faststream.kafka import KafkaBroker

from services.scoring.service import ScoringService
from shared.contracts import CLIENT_HISTORY, RUPTURE_ACKNOWLEDGED, CloudEvent, ContractViolation
from shared.messaging import subscribe_batch

CONSUMED = (*CLIENT_HISTORY, RUPTURE_ACKNOWLEDGED)


def register(
    broker: KafkaBroker,
    service: ScoringService,
    group_id: str,
    max_records: int = 500,
    instance_id: str | None = None,
) -> None:
    @subscribe_batch(broker, CONSUMED, group_id, max_records=max_records, instance_id=instance_id)
    async def on_sessions_feedback_and_acknowledgements(
        events: Sequence[CloudEvent[Any]],
    ) -> dict[int, ContractViolation]:
        return await service.apply_batch(events)
