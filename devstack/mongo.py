"""mongod as a one-member replica set (rs0): change streams and transactions need a replica set."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import OperationFailure

REPLICA_SET = "rs0"
_NOT_YET_INITIALIZED = 94
_ALREADY_INITIALIZED = 23
_INVALID_REPLICA_SET_CONFIG = 93
_REMOVED = 10  # replSetGetStatus myState: this node is not in its own config (its port changed)


TRANSACTION_LIFETIME_SECONDS = 10


def mongodb_uri(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?replicaSet={REPLICA_SET}"


def mongod_command(binary: Path, *, port: int, dbpath: Path) -> list[str]:
    """Foreground mongod logging to stdout (devstack redirects that to the log file)."""
    return [
        str(binary),
        "--replSet", REPLICA_SET,
        "--bind_ip", "127.0.0.1",
        "--port", str(port),
        "--dbpath", str(dbpath),
        # The default cache is half the RAM; a dev database needs a sliver of it.
        "--wiredTigerCacheSizeGB", "0.25",
        "--oplogSize", "128",
        # No periodic diagnostic snapshots (diagnostic.data/): less disk churn and CPU at rest.
        "--setParameter", "diagnosticDataCollectionEnabled=false",
        # A service killed inside a transaction leaves it open, and the clients it touched refuse every other
        # write until mongod aborts it: after 60 s by default (90 s measured). Ours last milliseconds.
        "--setParameter", f"transactionLifetimeLimitSeconds={TRANSACTION_LIFETIME_SECONDS}",
    ]  # fmt: skip


def _admin_client(port: int) -> MongoClient[dict[str, Any]]:
    # directConnection: talk to this one node even before it knows it is in a replica set.
    return MongoClient("127.0.0.1", port, directConnection=True, serverSelectionTimeoutMS=2000)


def _ensure_config(client: MongoClient[dict[str, Any]], host: str) -> None:
    """Initiate the replica set once; if the node's address changed since, point the config at it."""
    admin = client.admin
    try:
        status = admin.command("replSetGetStatus")
    except OperationFailure as exc:
        if exc.code == _NOT_YET_INITIALIZED:
            try:
                admin.command("replSetInitiate", {"_id": REPLICA_SET, "members": [{"_id": 0, "host": host}]})
            except OperationFailure as again:
                if again.code != _ALREADY_INITIALIZED:
                    raise
            return
        if exc.code != _INVALID_REPLICA_SET_CONFIG:
            raise
        status = {"myState": _REMOVED}
    if status.get("myState") == _REMOVED:
        config = admin.command("replSetGetConfig")["config"]
        config["members"] = [{**config["members"][0], "host": host}]
        config["version"] = int(config["version"]) + 1
        admin.command("replSetReconfig", config, force=True)


def is_writable_primary(port: int) -> bool:
    """One attempt: initiate if needed, then check we are primary and a write really succeeds."""
    with _admin_client(port) as client:
        _ensure_config(client, f"127.0.0.1:{port}")
        if not client.admin.command("hello").get("isWritablePrimary"):
            return False
    # The same way the services connect: through the replica-set URI, with the default write concern.
    with MongoClient[dict[str, Any]](mongodb_uri(port), serverSelectionTimeoutMS=2000) as rs_client:
        scratch = rs_client["devstack"]["readiness"]
        scratch.replace_one({"_id": "probe"}, {"_id": "probe", "at": datetime.now(UTC)}, upsert=True)
    return True
