"""The views' reads of the stored read model (``scoring_clients.alliance``), each limited to one clinic and
projected to what the page shows, so a caseload of hundreds of clients stays one small query."""

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from services.scoring.views import ClientAlliance

Document = dict[str, Any]


def _alliance(document: Document) -> ClientAlliance:
    return ClientAlliance.model_validate(
        {"past_episodes": [], "sessions": [], "therapist_id": None, **document}
    )


class ViewQueries:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def caseload(self, clinic_id: str, therapist_id: str) -> list[tuple[ClientAlliance, list[float]]]:
        """Clients whose latest session was with the therapist, each with its client SRS totals in order."""
        cursor = self.collection.find(
            {"clinic_id": clinic_id, "therapist_id": therapist_id},
            {
                "_id": 0,
                "alliance.client_id": 1,
                "alliance.therapist_id": 1,
                "alliance.summary": 1,
                "alliance.open_episode": 1,
                "alliance.sessions.srs_total": 1,
            },
        ).sort("client_id", ASCENDING)
        rows = []
        async for document in cursor:
            alliance = document["alliance"]
            totals = [s["srs_total"] for s in alliance.pop("sessions", []) if s.get("srs_total") is not None]
            rows.append((_alliance(alliance), totals))
        return rows
