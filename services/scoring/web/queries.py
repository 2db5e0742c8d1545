"""The views' reads of the stored read model (``scoring_clients.alliance``), each limited to one clinic and
projected to what the page shows, so a caseload of hundreds of clients stays one small query."""

from typing import Any

from pydantic import TypeAdapter
from pymongo.asynchronous.collection import AsyncCollection

from services.scoring.clients import ClientStore
from services.scoring.views import ClientAlliance

Document = dict[str, Any]


# Partial alliances (without past episodes and sessions), validated a page at a time.
ALLIANCES = TypeAdapter(list[ClientAlliance])


class ViewQueries:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.clients = ClientStore(collection)  # for its reads only

    async def caseload(self, clinic_id: str, therapist_id: str) -> list[tuple[ClientAlliance, list[float]]]:
        """Clients whose latest session was with the therapist, each with its latest client SRS totals in order
        (as many as the caseload draws)."""
        entries = await self.clients.caseload(clinic_id, therapist_id)
        alliances = ALLIANCES.validate_python(
            [
                {
                    "client_id": entry["client_id"],
                    "therapist_id": None,
                    "summary": entry["summary"],
                    "open_episode": entry["open_episode"],
                    "past_episodes": [],
                    "sessions": [],
                }
                for entry in entries
            ]
        )
        return [
            (alliance, entry["recent_totals"]) for alliance, entry in zip(alliances, entries, strict=True)
        ]
