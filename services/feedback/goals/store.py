"""Each client's goals in feedback's MongoDB (collection ``feedback_client_goals``, owned by feedback).

One document per client (``_id`` = ``clinic_id:client_id``, the events' subject): the goal events applied
(``agreements``, ``closings``, each with its event id) and, derived from them for reading at a glance, the goals
``active`` now by slot. A client's events are applied in one compare-and-set write on the document's
``version``: replicas of the service own different partitions, and during a rebalance the one that lost a client
cannot overwrite what the new owner wrote. The goal texts are the client's words: stored sealed with the
client's data key (docs/privacy.md), opened only to show them to their client on the form, never logged. An
erasure deletes the client's document.
"""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from services.feedback.goals.state import AgreedGoal, Agreement, ClientGoals, Closing, SessionRef
from shared.contracts import CloudEvent
from shared.messaging import TransientFailure
from shared.privacy.plumbing import Privacy
from shared.privacy.words import CLEAR, SEALED, Words, seal

Document = dict[str, Any]
COLLECTION = "feedback_client_goals"
# Two writers of one client only meet during a rebalance; a few rounds settle it, or the batch is retried.
WRITE_ROUNDS = 5
# An imported history brings many clients' goals in one batch: their documents are written side by side.
CLIENTS_AT_ONCE = 32
# A goal text that is not sealed: stored in the clear by a version of this service from before sealing.
UNSEALED = {"$regex": f"^(?!{SEALED})"}


class GoalStore:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def of(self, clinic_id: str, client_id: str) -> ClientGoals:
        return from_document(await self.collection.find_one({"_id": f"{clinic_id}:{client_id}"}))

    async def forget_client(self, clinic_id: str, client_id: str) -> None:
        """Delete the client's goals (an erasure)."""
        await self.collection.delete_one({"_id": f"{clinic_id}:{client_id}"})

    async def seal_clear_texts(self, privacy: Privacy) -> int:
        """Seal every goal text an earlier version of this service stored in the clear, for the event that
        brought it (an erased client's document goes instead); returns how many clients' documents changed."""
        sealed = 0
        query = {"$or": [{"agreements.goals.text": UNSEALED}, {"active.text": UNSEALED}]}
        async for found in self.collection.find(query, {"_id": 1, "clinic_id": 1, "client_id": 1}):
            clinic_id, client_id = found["clinic_id"], found["client_id"]
            if privacy.erased.contains(clinic_id, client_id):
                await self.forget_client(clinic_id, client_id)
            else:
                sealed += await self._seal_texts_of(clinic_id, client_id, privacy.words)
        return sealed

    async def _seal_texts_of(self, clinic_id: str, client_id: str, words: Words) -> bool:
        key = f"{clinic_id}:{client_id}"
        data_key = await words.keys.key_for(clinic_id, client_id)

        def sealed(event_id: str, text: str) -> str:
            if text.startswith(SEALED):
                return text
            return seal(data_key, clinic_id, client_id, event_id, text.removeprefix(CLEAR))

        for _ in range(WRITE_ROUNDS):
            found = await self.collection.find_one({"_id": key})
            if found is None:
                return False
            version = int(found.get("version", 0))
            goals = from_document(found).with_texts(sealed)
            document = {**to_document(clinic_id, client_id, goals), "version": version + 1}
            written = await self.collection.replace_one(
                {"_id": key, "version": found.get("version")}, document
            )
            if written.matched_count == 1:
                return True
        raise TransientFailure("another writer kept changing the client's goals")

    async def apply(self, events: Sequence[CloudEvent[Any]]) -> int:
        """Apply goal events (of any clients, in the order given); returns how many clients' goals changed."""
        by_client: dict[str, list[CloudEvent[Any]]] = {}
        for event in events:
            by_client.setdefault(f"{event.clinicid}:{event.data.client_id}", []).append(event)
        clients = list(by_client.items())
        changed = 0
        for start in range(0, len(clients), CLIENTS_AT_ONCE):
            chunk = clients[start : start + CLIENTS_AT_ONCE]
            changed += sum(await asyncio.gather(*(self._apply_to(key, theirs) for key, theirs in chunk)))
        return changed

    async def _apply_to(self, key: str, events: Sequence[CloudEvent[Any]]) -> bool:
        clinic_id, _, client_id = key.partition(":")
        try:
            for _ in range(WRITE_ROUNDS):
                found = await self.collection.find_one({"_id": key})
                before = from_document(found)
                after = before.applied(events)
                if after == before:
                    return False  # every event already applied
                version = int(found["version"]) if found else 0
                document = {"_id": key, **to_document(clinic_id, client_id, after), "version": version + 1}
                if found is None:
                    try:
                        await self.collection.insert_one(document)
                        return True
                    except DuplicateKeyError:
                        continue
                written = await self.collection.replace_one({"_id": key, "version": version}, document)
                if written.matched_count == 1:
                    return True
        except PyMongoError as error:
            if error.timeout:  # the database did not answer in time: retried, not dead-lettered
                raise TransientFailure("MongoDB timed out") from error
            raise
        raise TransientFailure("another writer kept changing the client's goals")


def to_document(clinic_id: str, client_id: str, goals: ClientGoals) -> Document:
    return {
        "clinic_id": clinic_id,
        "client_id": client_id,
        "active": [
            {"slot": goal.slot, "goal_id": goal.goal_id, "text": goal.text} for goal in goals.active()
        ],
        "agreements": [
            {
                "event_id": agreement.event_id,
                "session_id": agreement.session.session_id,
                "session_at": agreement.session.at,
                "agreed_at": agreement.agreed_at,
                "goals": [{"goal_id": goal.goal_id, "text": goal.text} for goal in agreement.goals],
            }
            for agreement in goals.agreements
        ],
        "closings": [
            {
                "event_id": closing.event_id,
                "goal_id": closing.goal_id,
                "session_id": closing.session.session_id,
                "session_at": closing.session.at,
                "closed_at": closing.closed_at,
            }
            for closing in goals.closings
        ],
        "updated_at": datetime.now(UTC),
    }


def from_document(document: Document | None) -> ClientGoals:
    if document is None:
        return ClientGoals()
    return ClientGoals(
        agreements=tuple(
            Agreement(
                entry["event_id"],
                SessionRef.of(entry["session_at"], entry["session_id"]),
                entry["agreed_at"].astimezone(UTC),
                tuple(AgreedGoal(goal["goal_id"], goal["text"]) for goal in entry["goals"]),
            )
            for entry in document.get("agreements", ())
        ),
        closings=tuple(
            Closing(
                entry["event_id"],
                entry["goal_id"],
                SessionRef.of(entry["session_at"], entry["session_id"]),
                entry["closed_at"].astimezone(UTC),
            )
            for entry in document.get("closings", ())
        ),
    )
