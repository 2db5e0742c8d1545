"""feedback's reading of ``client.events``: the clients' goals, so that a gbo form can show them.

The goal events (``goals.agreed``, ``goal.closed``) are picked out of the topic in large, slow batches in a
consumer group of feedback's own (``goals_group``), every other record passed over unparsed
(``shared.messaging.picking``), and applied to ``GoalStore``; offsets are committed once they are durable.

The goals' words are stored sealed: an event of a version that carried them in the clear (produced straight to
Kafka by an older system) has them sealed first (``Words.seal_event``). Events of an erased client are dropped
and counted.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo.errors import PyMongoError

from services.feedback.goals.store import GoalStore
from shared.contracts import (
    GOAL_CLOSED,
    GOALS_AGREED,
    CloudEvent,
    ContractViolation,
    EventKind,
    GoalClosedV1,
    GoalsAgreedV2,
)
from shared.messaging import TransientFailure, subscribe_picked
from shared.privacy.erasure import ERASED_EVENTS_DROPPED
from shared.privacy.plumbing import Privacy

log = logging.getLogger("alliance.feedback")
SERVICE = "feedback"
KINDS = (GOALS_AGREED, GOAL_CLOSED)
KIND_OF_TYPE: dict[str, EventKind[Any]] = {kind.type_name(): kind for kind in KINDS}
# Removes what feedback keeps of a client (``services.feedback.erasure.FeedbackPurge.client``).
PurgeClient = Callable[[str, str], Awaitable[None]]


def goals_group(group_id: str) -> str:
    """The consumer group feedback reads the goals in, named after its ``FEEDBACK_GROUP_ID``."""
    return f"{group_id}.goals"


def read_goals(
    broker: KafkaBroker,
    store: GoalStore,
    privacy: Privacy,
    purge_client: PurgeClient,
    group_id: str,
    instance_id: str | None = None,
) -> None:
    """Subscribe ``store`` to the goal events of ``client.events``, in ``goals_group(group_id)``."""

    @subscribe_picked(broker, KINDS, goals_group(group_id), instance_id)
    async def on_goal_events(
        events: Sequence[CloudEvent[GoalsAgreedV2 | GoalClosedV1]],
    ) -> dict[int, ContractViolation]:
        kept = await sealed_unless_erased(privacy, events)
        changed = await store.apply(kept)
        # An erasure that arrived while this batch was applied: its purge may have run before the write above.
        for clinic_id, client_id in {(event.clinicid, event.data.client_id) for event in kept}:
            if privacy.erased.contains(clinic_id, client_id):
                await purge_client(clinic_id, client_id)
        # Counts only: the texts are the client's words.
        log.info(
            "goals recorded",
            extra={
                "events": len(events),
                "clients_changed": changed,
                "erased_dropped": len(events) - len(kept),
            },
        )
        return {}  # a decoded goal event is never refused


async def sealed_unless_erased(privacy: Privacy, events: Sequence[CloudEvent[Any]]) -> list[CloudEvent[Any]]:
    """``events`` without those of erased clients (counted), each with any words in the clear sealed."""
    kept: list[CloudEvent[Any]] = []
    try:
        for event in events:
            if privacy.erased.contains(event.clinicid, event.data.client_id):
                ERASED_EVENTS_DROPPED.labels(SERVICE).inc()
                continue
            kept.append(await privacy.words.seal_event(KIND_OF_TYPE[event.type], event))
    except PyMongoError as error:  # fetching or creating a data key
        if error.timeout:
            raise TransientFailure("MongoDB timed out") from error
        raise
    return kept
