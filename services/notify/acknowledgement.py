"""Acknowledgements: signed links in alerts, and recording that someone saw an alert.

Recording stops the escalation timer and stages ``rupture.acknowledged`` in the outbox in one transaction.
The event id is derived from the episode, so a double click (or a link plus the API) yields one event; for the
same reason the tags of the first acknowledgement (rupture type, repair strategies) are the ones that count.
An erased client's episode is gone, and not acknowledged any more (a link or a late event that arrives for it).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.notify.episodes import EpisodeStore
from services.notify.erasure import Erasures
from shared import mongo
from shared.contracts import (
    RUPTURE_ACKNOWLEDGED,
    CloudEvent,
    RepairTags,
    RuptureAcknowledgedV2,
    derived_event_id,
)
from shared.messaging import Outbox, OutboxRelay

SOURCE = "/services/notify"


@dataclass(frozen=True)
class AckClaim:
    """What a signed link says: this person may acknowledge this clinic's episode."""

    clinic_id: str
    rupture_id: str
    acknowledged_by: str


class AckLinks:
    def __init__(self, secret: str, public_url: str, max_age_days: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="alliance.rupture.acknowledge")
        self._public_url = public_url.rstrip("/")
        self._max_age = max_age_days * 86400

    def url(self, claim: AckClaim) -> str:
        token = self._serializer.dumps([claim.clinic_id, claim.rupture_id, claim.acknowledged_by])
        return f"{self._public_url}/v1/acknowledgements/{token}"

    def read(self, token: str) -> AckClaim | None:
        """The claim of a valid, unexpired token; None for anything else."""
        try:
            clinic_id, rupture_id, by = self._serializer.loads(token, max_age=self._max_age)
        except (BadSignature, ValueError):
            return None
        return AckClaim(str(clinic_id), str(rupture_id), str(by))


@dataclass(frozen=True)
class Acknowledged:
    """The acknowledgement that stands: the first one of the episode, whoever asks."""

    rupture_id: str
    acknowledged_by: str
    acknowledged_at: datetime
    event_id: str
    tags: RepairTags  # the first acknowledgement's: a repeat records nothing, its tags neither


class Acknowledgements:
    def __init__(
        self,
        client: AsyncMongoClient[mongo.Document],
        episodes: EpisodeStore,
        outbox: Outbox,
        relay: OutboxRelay,
        erasures: Erasures,
    ) -> None:
        self._client = client
        self._episodes = episodes
        self._outbox = outbox
        self._relay = relay
        self._erasures = erasures

    async def acknowledge(
        self, claim: AckClaim, via: Literal["link", "api"], tags: RepairTags | None = None
    ) -> Acknowledged | None:
        """Record it once, with ``tags`` if it is the first; None when the clinic has no such episode (as far
        as notify knows)."""
        tags = tags or RepairTags()
        event_id = derived_event_id("rupture.acknowledged", claim.clinic_id, claim.rupture_id)

        async def work(session: AsyncClientSession) -> Acknowledged | None:
            episode: dict[str, Any] | None = await self._episodes.get(
                claim.clinic_id, claim.rupture_id, session
            )
            if episode is None or self._erasures.contains(claim.clinic_id, episode.get("client_id")):
                return None  # an erased client's episode is gone, or about to be
            if episode.get("acknowledged_at") is not None:  # a second click: same answer, no second event
                return Acknowledged(
                    claim.rupture_id,
                    episode["acknowledged_by"],
                    episode["acknowledged_at"],
                    event_id,
                    stored_tags(episode),
                )
            now = _to_millis(datetime.now(UTC))  # as MongoDB keeps it, so a repeat answers the same
            await self._episodes.acknowledge(
                session, claim.clinic_id, claim.rupture_id, claim.acknowledged_by, via, now, tags
            )
            data = RuptureAcknowledgedV2(
                **tags.model_dump(),
                rupture_id=claim.rupture_id,
                therapist_id=episode["therapist_id"],
                client_id=episode["client_id"],
                acknowledged_by=claim.acknowledged_by,
                acknowledged_at=now,
                via=via,
            )
            event = RUPTURE_ACKNOWLEDGED.envelope(
                data,
                clinic_id=claim.clinic_id,
                client_id=episode["client_id"],
                source=SOURCE,
                event_id=event_id,
            )
            await self._outbox.stage(session, [(RUPTURE_ACKNOWLEDGED, event)])
            return Acknowledged(claim.rupture_id, claim.acknowledged_by, now, event_id, tags)

        done = await mongo.in_transaction(self._client, work)
        self._relay.wake()
        return done

    async def acknowledged_elsewhere(self, event: CloudEvent[RuptureAcknowledgedV2]) -> None:
        """An acknowledgement published by another service (the client view's button) or by notify itself:
        stop the escalation timer and keep its tags, so a later link or API call answers with them; publish
        nothing, the event already exists."""
        ack = event.data
        if self._erasures.drop(event.clinicid, ack.client_id):
            return

        async def work(session: AsyncClientSession) -> None:
            episode = await self._episodes.get(event.clinicid, ack.rupture_id, session)
            if episode is not None and episode.get("acknowledged_at") is not None:
                return  # the first acknowledgement stands
            await self._episodes.acknowledge(
                session,
                event.clinicid,
                ack.rupture_id,
                ack.acknowledged_by,
                ack.via,
                ack.acknowledged_at,
                RepairTags(rupture_type=ack.rupture_type, strategies=ack.strategies),
                upsert=True,
                client_id=ack.client_id,
            )

        await mongo.in_transaction(self._client, work)
        await self._erasures.settle(event.clinicid, ack.client_id)


def stored_tags(episode: dict[str, Any]) -> RepairTags:
    """The tags kept with an acknowledged episode; none for one acknowledged before tags existed."""
    return RepairTags.model_validate(
        {"rupture_type": episode.get("rupture_type"), "strategies": episode.get("strategies") or []}
    )


def _to_millis(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
