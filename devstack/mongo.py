"""mongod as a replica set (rs0) of one or three members: change streams and transactions need a replica set."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import OperationFailure

from devstack.errors import StackError

REPLICA_SET = "rs0"
_NOT_YET_INITIALIZED = 94
_ALREADY_INITIALIZED = 23
_INVALID_REPLICA_SET_CONFIG = 93
_REMOVED = 10  # replSetGetStatus myState: this node is not in its own config (its port changed)
PRIMARY, SECONDARY = 1, 2


TRANSACTION_LIFETIME_SECONDS = 10

# How soon the replica set replaces a primary it lost, and so how long every write waits (the intake's
# idempotency records, scoring's transactions). With MongoDB's defaults a primary cut off by the network was
# replaced after 22 s: 10 s of missed heartbeats before it counted as down, an election 14 s in, and then 7.6 s
# of catch-up in which the new primary waited for a heartbeat answer from the lost member before it took
# writes. Every write of the platform waits for a majority, so the new primary (elected by a majority that
# holds every such write) has nothing to catch up on that matters: catch-up is bounded to 1 s. Five seconds
# without a heartbeat still leaves room for a busy machine's scheduling delays.
FAILOVER: dict[str, int] = {
    "electionTimeoutMillis": 5000,
    "heartbeatTimeoutSecs": 5,
    "catchUpTimeoutMillis": 1000,
}


def mongodb_uri(hosts: Sequence[str], port: int) -> str:
    seeds = ",".join(f"{host}:{port}" for host in hosts)
    return f"mongodb://{seeds}/?replicaSet={REPLICA_SET}"


def mongod_command(binary: Path, *, port: int, dbpath: Path, host: str = "127.0.0.1") -> list[str]:
    """Foreground mongod logging to stdout (devstack redirects that to the log file)."""
    return [
        str(binary),
        "--replSet", REPLICA_SET,
        "--bind_ip", host,
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
        # On SIGTERM a replica-set member first waits out a quiesce period for running operations: 15 s by
        # default, as long as devstack waits before SIGKILL. Ours finish in milliseconds.
        "--setParameter", "shutdownTimeoutMillisForSignaledShutdown=2000",
    ]  # fmt: skip


def _direct_client(host: str, port: int) -> MongoClient[dict[str, Any]]:
    # directConnection: talk to this one node even before it knows it is in a replica set.
    return MongoClient(host, port, directConnection=True, serverSelectionTimeoutMS=2000)


def _ensure_config(client: MongoClient[dict[str, Any]], members: Sequence[str]) -> None:
    """Initiate the replica set once; if a one-member set's address changed since, point the config at it."""
    admin = client.admin
    try:
        status = admin.command("replSetGetStatus")
    except OperationFailure as exc:
        if exc.code == _NOT_YET_INITIALIZED:
            config = {
                "_id": REPLICA_SET,
                "members": [{"_id": i, "host": h} for i, h in enumerate(members)],
                "settings": FAILOVER,
            }
            try:
                admin.command("replSetInitiate", config)
            except OperationFailure as again:
                if again.code != _ALREADY_INITIALIZED:
                    raise
            return
        if exc.code != _INVALID_REPLICA_SET_CONFIG:
            raise
        status = {"myState": _REMOVED}
    if status.get("myState") == _REMOVED:
        config = admin.command("replSetGetConfig")["config"]
        if len(members) > 1:
            raise StackError(
                f"the replica set's members {[m['host'] for m in config['members']]} are not {list(members)}: "
                "its data was made for other ports; `make clean` (or delete the profile's state) starts afresh"
            )
        config["members"] = [{**config["members"][0], "host": members[0]}]
        config["version"] = int(config["version"]) + 1
        admin.command("replSetReconfig", config, force=True)


def _keep_failover(rs: MongoClient[dict[str, Any]]) -> None:
    """Give a set initiated before ``FAILOVER`` (a profile's kept state) its settings, through the primary."""
    config = rs.admin.command("replSetGetConfig")["config"]
    settings = config.get("settings", {})
    if any(settings.get(key) != value for key, value in FAILOVER.items()):
        config["settings"] = {**settings, **FAILOVER}
        config["version"] = int(config["version"]) + 1
        rs.admin.command("replSetReconfig", config)


def member_states(hosts: Sequence[str], port: int) -> dict[str, str]:
    """Each reachable member's state as the replica set sees it (``PRIMARY``, ``SECONDARY``...)."""
    for host in hosts:
        try:
            with _direct_client(host, port) as client:
                status = client.admin.command("replSetGetStatus")
        except Exception:
            continue
        return {str(member["name"]): str(member["stateStr"]) for member in status["members"]}
    return {}


def is_writable_primary(hosts: Sequence[str], port: int) -> bool:
    """One attempt: initiate if needed, then check that every member is up (primary or secondary), and that a
    majority-acknowledged write really succeeds through the replica-set URI, as the services connect."""
    members = [f"{host}:{port}" for host in hosts]
    with _direct_client(hosts[0], port) as client:
        _ensure_config(client, members)
    states = member_states(hosts, port)
    if sorted(states) != sorted(members) or not all(s in ("PRIMARY", "SECONDARY") for s in states.values()):
        return False
    with MongoClient[dict[str, Any]](
        mongodb_uri(hosts, port), serverSelectionTimeoutMS=2000, w="majority"
    ) as rs:
        _keep_failover(rs)
        scratch = rs["devstack"]["readiness"]
        scratch.replace_one({"_id": "probe"}, {"_id": "probe", "at": datetime.now(UTC)}, upsert=True)
    return True
