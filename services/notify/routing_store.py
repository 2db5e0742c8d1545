"""Each clinic's routing in MongoDB, one document per clinic."""

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from services.notify.routing import ClinicRouting, TherapistRoute
from services.notify.webhook_secrets import STORED

Document = dict[str, Any]


class RoutingStore:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._routing = collection

    async def get(self, clinic_id: str) -> ClinicRouting | None:
        document = await self._routing.find_one({"_id": clinic_id}, {"_id": 0})
        return None if document is None else ClinicRouting.model_validate(document, context=STORED)

    async def put(self, clinic_id: str, routing: ClinicRouting) -> None:
        """Replace the clinic's routing; the secrets it leaves out are kept (they are write-only)."""
        kept = routing.keeping_secrets(await self.get(clinic_id))
        # Unset fields are left out: a routing that uses no destination secrets then stays readable by the
        # release before them, which refused fields it did not know.
        stored = kept.model_dump(mode="json", exclude_none=True)
        await self._routing.replace_one({"_id": clinic_id}, stored, upsert=True)

    async def put_therapist(self, clinic_id: str, route: TherapistRoute) -> None:
        routing = await self.get(clinic_id) or ClinicRouting()
        others = [r for r in routing.therapists if r.therapist_id != route.therapist_id]
        await self.put(clinic_id, routing.model_copy(update={"therapists": [*others, route]}))

    async def remove_therapist(self, clinic_id: str, therapist_id: str) -> bool:
        routing = await self.get(clinic_id)
        if routing is None or all(r.therapist_id != therapist_id for r in routing.therapists):
            return False
        kept = [r for r in routing.therapists if r.therapist_id != therapist_id]
        await self.put(clinic_id, routing.model_copy(update={"therapists": kept}))
        return True
