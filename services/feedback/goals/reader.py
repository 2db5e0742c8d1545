"""feedback's reading of ``client.events``: the clients' goals, so that a gbo form can show them.

The goal events (``goals.agreed``, ``goal.closed``) are picked out of the topic in large, slow batches in a
consumer group of feedback's own (``goals_group``), every other record passed over unparsed
(``shared.messaging.picking``), and applied to ``GoalStore``; offsets are committed once they are durable.
"""

import logging
from collections.abc import Sequence

from faststream.kafka import KafkaBroker

from services.feedback.goals.store import GoalStore
from shared.contracts import (
    GOAL_CLOSED,
    GOALS_AGREED,
    CloudEvent,
    ContractViolation,
    GoalClosedV1,
    GoalsAgreedV1,
)
from shared.messaging import subscribe_picked

log = logging.getLogger("alliance.feedback")
KINDS = (GOALS_AGREED, GOAL_CLOSED)


def goals_group(group_id: str) -> str:
    """The consumer group feedback reads the goals in, named after its ``FEEDBACK_GROUP_ID``."""
    return f"{group_id}.goals"


def read_goals(broker: KafkaBroker, store: GoalStore, group_id: str, instance_id: str | None = None) -> None:
    """Subscribe ``store`` to the goal events of ``client.events``, in ``goals_group(group_id)``."""

    @subscribe_picked(broker, KINDS, goals_group(group_id), instance_id)
    async def on_goal_events(
        events: Sequence[CloudEvent[GoalsAgreedV1 | GoalClosedV1]],
    ) -> dict[int, ContractViolation]:
        changed = await store.apply(events)
        # Counts only: the texts are the client's words.
        log.info("goals recorded", extra={"events": len(events), "clients_changed": changed})
        return {}  # a decoded goal event is never refused
