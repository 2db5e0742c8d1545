"""Rupture episodes as notify sees them: the latest alert, the acknowledgement, and the escalation timer.

The timer is a due time in MongoDB (``escalate_at``), so it survives restarts: whichever instance polls
first after it passes escalates, exactly once per episode and level. Each episode names its client
(``client_id``), so that an erased client's are found and purged.
"""

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from services.notify.alert import SEVERITY_RANK
from shared.contracts import RepairTags, RuptureSuspectedV4

Document = dict[str, Any]


def episode_key(clinic_id: str, rupture_id: str) -> str:
    return f"{clinic_id}:{rupture_id}"


class EpisodeStore:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._episodes = collection

    async def ensure_indexes(self) -> None:
        await self._episodes.create_index([("escalate_at", ASCENDING)], sparse=True)

    async def ensure_client_indexes(self) -> None:
        await self._episodes.create_index([("clinic_id", ASCENDING), ("client_id", ASCENDING)])

    async def purge_client(self, clinic_id: str, client_id: str, rupture_ids: list[str]) -> int:
        """Delete the client's episodes, timers and acknowledgements included. ``rupture_ids`` (from the client's
        deliveries) also finds an episode acknowledged before its alert by an older release, which did not
        keep the client with it."""
        result = await self._episodes.delete_many(
            {
                "$or": [
                    {"clinic_id": clinic_id, "client_id": client_id},
                    {"_id": {"$in": [episode_key(clinic_id, rupture_id) for rupture_id in rupture_ids]}},
                ]
            }
        )
        return result.deleted_count

    async def note_alert(
        self,
        session: AsyncClientSession,
        clinic_id: str,
        rupture: RuptureSuspectedV4,
        escalate_at: datetime | None,
        event_id: str,
        now: datetime,
    ) -> bool:
        """Remember the episode's latest level and arm the timer, unless acknowledged or escalated at it.

        Every alert is also kept in the episode's ``alerts`` (event id, level, stale, from history, when
        noted): an alert from history has no delivery, so this is its audit trail. Returns False when this
        very alert was noted before (a redelivery)."""
        key = episode_key(clinic_id, rupture.rupture_id)
        known = await self._episodes.find_one({"_id": key}, session=session) or {}
        new = all(alert["event_id"] != event_id for alert in known.get("alerts", []))
        latest = rupture
        if (
            known.get("rupture")
            and SEVERITY_RANK[rupture.severity] < SEVERITY_RANK[known["rupture"]["severity"]]
        ):
            latest = RuptureSuspectedV4.model_validate(known["rupture"])  # an older event, redelivered
        timer = known.get("escalate_at")
        armed = (
            escalate_at is not None
            and known.get("acknowledged_at") is None
            and rupture.severity.value not in known.get("escalated_levels", [])
        )
        if armed and escalate_at is not None:
            timer = escalate_at if timer is None else min(timer, escalate_at)
        await self._episodes.update_one(
            {"_id": key},
            {
                "$set": {
                    "clinic_id": clinic_id,
                    "rupture_id": rupture.rupture_id,
                    "therapist_id": rupture.therapist_id,
                    "client_id": rupture.client_id,
                    "rupture": latest.model_dump(mode="json"),
                    "escalate_at": timer,
                },
                **(
                    {
                        "$push": {
                            "alerts": {
                                "event_id": event_id,
                                "severity": rupture.severity.value,
                                "stale": rupture.stale,
                                "from_history": rupture.from_history,
                                "noted_at": now,
                            }
                        }
                    }
                    if new
                    else {}
                ),
            },
            upsert=True,
            session=session,
        )
        return new

    async def overdue(self, now: datetime, limit: int = 100) -> list[Document]:
        cursor = self._episodes.find({"escalate_at": {"$lte": now}, "acknowledged_at": None}).limit(limit)
        return await cursor.to_list()

    async def take_overdue(self, session: AsyncClientSession, key: str, now: datetime) -> Document | None:
        """Stop the timer if it is still due; the episode as it was, or None when someone else took it."""
        document = await self._episodes.find_one(
            {"_id": key, "escalate_at": {"$lte": now}, "acknowledged_at": None}, session=session
        )
        if document is None:
            return None
        await self._episodes.update_one(
            {"_id": key},
            {
                "$set": {"escalate_at": None, "escalated_at": now},
                "$addToSet": {"escalated_levels": document["rupture"]["severity"]},
            },
            session=session,
        )
        return document

    async def get(
        self, clinic_id: str, rupture_id: str, session: AsyncClientSession | None = None
    ) -> Document | None:
        return await self._episodes.find_one({"_id": episode_key(clinic_id, rupture_id)}, session=session)

    async def acknowledge(
        self,
        session: AsyncClientSession,
        clinic_id: str,
        rupture_id: str,
        by: str,
        via: str,
        now: datetime,
        tags: RepairTags,
        upsert: bool = False,
        client_id: str | None = None,
    ) -> None:
        """Stop the episode's timer for good and keep the acknowledgement's tags. ``upsert`` keeps an
        acknowledgement that arrives before the alert itself, so the alert, when it comes, arms no timer;
        ``client_id`` then names its client, so that an erasure finds it."""
        await self._episodes.update_one(
            {"_id": episode_key(clinic_id, rupture_id)},
            {
                "$set": {
                    "clinic_id": clinic_id,
                    "rupture_id": rupture_id,
                    **({"client_id": client_id} if client_id is not None else {}),
                    "acknowledged_at": now,
                    "acknowledged_by": by,
                    "acknowledged_via": via,
                    **tags.model_dump(mode="json"),
                    "escalate_at": None,
                }
            },
            upsert=upsert,
            session=session,
        )
