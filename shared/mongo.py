"""MongoDB access: one async client per process, transactions for every state change."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from shared import tracing
from shared.settings import ServiceSettings

T = TypeVar("T")
Document = dict[str, Any]
DUPLICATE_KEY = 11000  # the server's error code for a unique index violated


def connect(settings: ServiceSettings, timeout_ms: int | None = None) -> AsyncMongoClient[Document]:
    # A bounded socket timeout: an operation caught by a mongod restart fails (and is retried) within
    # seconds instead of waiting on a dead connection until the kernel gives up on it many minutes later.
    # Every write waits for a majority of the replica set (explicit, not the server's default, which an
    # arbiter or an older server changes): a write acknowledged by one member alone can be rolled back when
    # another is elected. Reads see only what a majority has, for the same reason. ``timeout_ms`` bounds each
    # operation as a whole, retries included (the driver's client-side operation timeout), for a caller that
    # answers someone waiting.
    options: dict[str, Any] = {"timeoutMS": timeout_ms} if timeout_ms is not None else {}
    return AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
        socketTimeoutMS=30_000,
        w="majority",
        readConcernLevel="majority",
        **options,
    )


def database(client: AsyncMongoClient[Document], settings: ServiceSettings) -> AsyncDatabase[Document]:
    return client.get_database(settings.mongodb_database)


async def in_transaction(
    client: AsyncMongoClient[Document], work: Callable[[AsyncClientSession], Awaitable[T]]
) -> T:
    """Run ``work`` in one majority-committed transaction, retried by the driver on transient errors."""
    with tracing.span("mongodb transaction", {"db.system": "mongodb"}):
        async with client.start_session() as session:
            return await session.with_transaction(
                work, read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority")
            )


async def is_reachable(client: AsyncMongoClient[Document]) -> bool:
    try:
        await client.admin.command("ping")
    except Exception:
        return False
    return True


def outcomes_of(writes: int, error: BulkWriteError) -> list[BaseException | None]:
    """Each write's outcome in an unordered bulk write that failed in part: None where it was applied, else its
    own error (a DuplicateKeyError for a key that exists). A write concern error leaves every write uncertain."""
    if error.details.get("writeConcernErrors"):
        return [error] * writes
    outcomes: list[BaseException | None] = [None] * writes
    for failed in error.details.get("writeErrors", []):
        kind = DuplicateKeyError if failed.get("code") == DUPLICATE_KEY else WriteError
        outcomes[failed["index"]] = kind(failed.get("errmsg", ""), failed.get("code"), failed)
    return outcomes
