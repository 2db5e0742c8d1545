"""What each service needs of health data at rest, built once: the data keys, the words they seal and open,
and the erased clients."""

from dataclasses import dataclass
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo.asynchronous.database import AsyncDatabase

from shared.privacy.erasure import ErasedClients, Purge, catch_up, follow_erasures
from shared.privacy.keys import COLLECTION, DataKeys, KeyEncryptionKeys
from shared.privacy.words import Words
from shared.settings import ServiceSettings


@dataclass(frozen=True)
class Privacy:
    keys: DataKeys
    words: Words
    erased: ErasedClients

    @classmethod
    def of(cls, db: AsyncDatabase[Any], settings: ServiceSettings | None = None) -> "Privacy":
        """Raises KeyConfigurationError when ``ALLIANCE_KEKS`` is missing or malformed."""
        configured = settings.key_encryption_keys if settings is not None else None
        keks = (
            KeyEncryptionKeys.parse(configured.get_secret_value())
            if configured is not None
            else KeyEncryptionKeys.from_environment()
        )
        keys = DataKeys(db[COLLECTION], keks)
        return cls(keys, Words(keys), ErasedClients())

    def follow(self, broker: KafkaBroker, purge: Purge | None = None) -> None:
        """Follow ``client.erased``; ``purge`` removes what this service holds of an erased client."""

        async def forget_and_purge(event: Any) -> None:
            self.keys.forget(event.clinicid, event.data.client_id)
            if purge is not None:
                await purge(event)

        follow_erasures(broker, self.erased, forget_and_purge)

    async def start(self, bootstrap: str) -> None:
        """Before the service reads any event: the KEKs open the data keys, and every erasure is known."""
        await self.keys.ensure_indexes()
        await self.keys.verify()
        await catch_up(self.erased, bootstrap)
