"""MongoDB persistence of each client's alliance state (collection ``scoring_clients``, one document a client).

The document keeps the inbound events the client's history was built from (they double as the set of
applied event ids), what has been announced about its episodes, and the latest summary for reads.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from services.scoring import domain
from shared.contracts import ALL_KINDS, CloudEvent, EventKind

Document = dict[str, Any]
KINDS_BY_TYPE: dict[str, EventKind[Any]] = {kind.type_name(): kind for kind in ALL_KINDS}


@dataclass
class ClientRecord:
    clinic_id: str
    client_id: str
    events: list[CloudEvent[Any]] = field(default_factory=list)
    emitted: domain.EmittedLog = field(default_factory=domain.EmittedLog)

    @property
    def key(self) -> str:
        return f"{self.clinic_id}:{self.client_id}"

    def has_applied(self, event_id: str) -> bool:
        return any(event.id == event_id for event in self.events)


class ClientStore:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._clients = collection

    async def ensure_indexes(self) -> None:
        await self._clients.create_index([("clinic_id", ASCENDING), ("client_id", ASCENDING)], unique=True)

    async def load(self, clinic_id: str, client_id: str, session: AsyncClientSession) -> ClientRecord:
        document = await self._clients.find_one({"_id": f"{clinic_id}:{client_id}"}, session=session)
        if document is None:
            return ClientRecord(clinic_id, client_id)
        return ClientRecord(
            clinic_id,
            client_id,
            events=[KINDS_BY_TYPE[stored["type"]].decode(stored) for stored in document["events"]],
            emitted=_emitted_from(document["emitted"]),
        )

    async def save(
        self, record: ClientRecord, assessment: domain.ClientAssessment, session: AsyncClientSession
    ) -> None:
        summary = assessment.summary
        await self._clients.replace_one(
            {"_id": record.key},
            {
                "clinic_id": record.clinic_id,
                "client_id": record.client_id,
                "events": [event.model_dump(mode="json") for event in record.events],
                "emitted": _emitted_to(record.emitted),
                "summary": {
                    "session_count": summary.session_count,
                    "latest_srs_total": _number(summary.latest_srs_total),
                    "latest_severity": summary.latest_severity.value,
                    "baseline": _number(summary.baseline),
                    "trend": _number(summary.trend),
                    "open_episode_id": summary.open_episode.episode_id if summary.open_episode else None,
                },
                "updated_at": datetime.now(UTC),
            },
            upsert=True,
            session=session,
        )


def _emitted_to(log: domain.EmittedLog) -> Document:
    return {
        "alerted": sorted([episode_id, level.value] for episode_id, level in log.alerted),
        "stale_alerted": sorted(log.stale_alerted),
        "resolved": sorted(log.resolved),
    }


def _emitted_from(document: Document) -> domain.EmittedLog:
    return domain.EmittedLog(
        alerted=frozenset((episode_id, domain.Severity(level)) for episode_id, level in document["alerted"]),
        stale_alerted=frozenset(document["stale_alerted"]),
        resolved=frozenset(document["resolved"]),
    )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
