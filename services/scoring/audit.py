"""The audit log of reads of client data (collection ``scoring_audit``): who (clinic and key), what (route and
client ids), when, and whether it was found. Written in the request, before the answer leaves."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from shared.auth import ClinicPrincipal
from shared.privacy.erasure import ErasedClients

Document = dict[str, Any]


class AuditLog:
    def __init__(self, collection: AsyncCollection[Document], erased: ErasedClients | None = None) -> None:
        self.collection = collection
        # An erased client's pseudonym is kept nowhere, not even where someone later asked for it.
        self.erased = erased if erased is not None else ErasedClients()

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("clinic_id", ASCENDING), ("at", ASCENDING)])
        await self.collection.create_index(
            [("clinic_id", ASCENDING), ("client_ids", ASCENDING), ("at", ASCENDING)]
        )

    async def record(
        self,
        principal: ClinicPrincipal,
        route: str,
        client_ids: Sequence[str],
        *,
        found: bool = True,
        actor: str | None = None,
    ) -> None:
        """``actor`` names the person behind a clinician view's session (the key alone names no one)."""
        await self.collection.insert_one(
            {
                "at": datetime.now(UTC),
                "clinic_id": principal.clinic_id,
                "key_id": principal.key_id,
                "route": route,
                "client_ids": [c for c in client_ids if not self.erased.contains(principal.clinic_id, c)],
                "found": found,
                **({"actor": actor} if actor is not None else {}),
            }
        )
