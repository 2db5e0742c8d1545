"""Faults on the nodes of a cluster stack, each the way it happens in production:

- a process killed (SIGKILL: no shutdown hook runs) and started again later;
- a process paused (SIGSTOP, then SIGCONT): alive, holding its sockets, silent, a grey failure;
- a node cut off from everyone by ``iptables``: each node's processes run under a group id of their own
  (devstack/layout.py), so two owner-matched rules drop every packet to the node from anyone else and every
  packet from the node to anyone else. Loopback connections all leave from 127.0.0.1, so an address match
  alone could not tell the nodes apart. The rules are removed however the test ends.

Only processes of the stack's own pid files are signalled, and only rules this module added are deleted.
"""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from devstack import mongo, processes, topics
from devstack.layout import Node
from devstack.stack import Stack
from reliability.platform import kill as kill_process

IPTABLES = "iptables"


# ---- who is where --------------------------------------------------------------------------------------


def leader_of_most(stack: Stack, topic: str) -> Node:
    """The node whose broker leads the most partitions of ``topic``."""
    leaders = [p.leader for p in topics.partition_states(stack.kafka_bootstrap) if p.topic == topic]
    number = max(set(leaders), key=leaders.count)
    return stack.nodes[number - 1]


def primary_or_none(stack: Stack) -> Node | None:
    """The node of the replica set's primary, None during an election."""
    states = mongo.member_states(stack.hosts, stack.ports.mongo)
    address = next((address for address, state in states.items() if state == "PRIMARY"), None)
    return next((node for node in stack.nodes if address and address.startswith(f"{node.host}:")), None)


def primary(stack: Stack, within: float = 60.0) -> Node:
    deadline = time.monotonic() + within
    while (node := primary_or_none(stack)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the replica set had no primary for {within:.0f} s")
        time.sleep(0.2)
    return node


def wait_new_primary(stack: Stack, old: Node, within: float = 60.0) -> float:
    """Until a member other than ``old`` is primary; returns seconds waited."""
    started = time.monotonic()
    while primary_or_none(stack) in (None, old):
        if time.monotonic() - started > within:
            raise TimeoutError(f"no new primary within {within:.0f} s of {old.mongod} stepping down")
        time.sleep(0.2)
    return time.monotonic() - started


def in_sync(stack: Stack) -> bool:
    """Every Kafka partition has a leader and all its replicas in sync, and every mongod is up."""
    try:
        partitions = topics.partition_states(stack.kafka_bootstrap)
        states = mongo.member_states(stack.hosts, stack.ports.mongo)
    except Exception:
        return False
    kafka_whole = all(p.leader >= 0 and len(p.in_sync) == len(p.replicas) for p in partitions)
    members = set(states.values())
    return kafka_whole and len(states) == len(stack.nodes) and members <= {"PRIMARY", "SECONDARY"}


def wait_in_sync(stack: Stack, within: float = 180.0) -> float:
    """Until ``in_sync``: what an operator waits for before touching the next node. Returns seconds waited."""
    started = time.monotonic()
    while not in_sync(stack):
        if time.monotonic() - started > within:
            raise TimeoutError(f"the cluster was not back in sync within {within:.0f} s")
        time.sleep(0.5)
    return time.monotonic() - started


def node_ports(stack: Stack) -> list[int]:
    """What a node listens on: its broker, its controller and its mongod (the same on every node)."""
    return [stack.ports.kafka, stack.ports.kafka_controller, stack.ports.mongo]


def wait_isolated(stack: Stack, node: Node, within: float = 25.0) -> float:
    """Until the rest of the cluster has written ``node`` off: its mongod no longer a healthy member, its broker
    leading no partition (the controller fences a broker it has not heard from). Proves that a cut took hold;
    returns seconds waited."""
    started = time.monotonic()
    member = f"{node.host}:{stack.ports.mongo}"
    while True:
        with contextlib.suppress(Exception):
            states = mongo.member_states([n.host for n in stack.nodes if n != node], stack.ports.mongo)
            leaders = {p.leader for p in topics.partition_states(stack.kafka_bootstrap)}
            if states.get(member) not in ("PRIMARY", "SECONDARY") and node.number not in leaders:
                return time.monotonic() - started
        if time.monotonic() - started > within:
            raise TimeoutError(f"{node.host} still looked connected {within:.0f} s into its cut")
        time.sleep(0.5)


# ---- processes -----------------------------------------------------------------------------------------


def _record(stack: Stack, name: str) -> processes.PidRecord:
    record = processes.live_record(stack.paths.pidfile(name))
    if record is None:
        raise RuntimeError(f"{name} is not running")
    return record


def kill(stack: Stack, name: str) -> None:
    """SIGKILL ``name`` (``kafka-2``, ``mongod-1``) and wait until it is gone."""
    kill_process(stack.paths.pidfile(name), name)


def stop(stack: Stack, name: str) -> None:
    """SIGTERM, as an upgrade stops a node: it shuts down cleanly (a mongod primary steps down first)."""
    stack.stop(only=[name])


@contextlib.contextmanager
def paused(stack: Stack, name: str) -> Iterator[None]:
    """SIGSTOP ``name`` for the duration of the block; SIGCONT however the block ends."""
    record = _record(stack, name)
    os.killpg(record.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(record.pid, signal.SIGCONT)


def step_down(stack: Stack, seconds: int = 30) -> Node:
    """Force the primary to step down (it may not stand again for ``seconds``); returns the node it was on."""
    node = primary(stack)
    with (
        MongoClient[dict[str, Any]](
            node.host, stack.ports.mongo, directConnection=True, serverSelectionTimeoutMS=5000
        ) as client,
        contextlib.suppress(PyMongoError),
    ):  # the step-down closes the connection it came on
        client.admin.command({"replSetStepDown": seconds, "force": True})
    return node


# ---- the network ---------------------------------------------------------------------------------------


def cut_off_rules(node: Node, ports: Sequence[int]) -> list[list[str]]:
    """The two OUTPUT rules that isolate ``node``: nobody else reaches its ``ports`` (its broker, controller
    and mongod), and it reaches nobody else. Only those ports: node 1 shares 127.0.0.1 with the services and
    the test's own servers, which must stay reachable."""
    if node.group_id is None:
        raise ValueError("only a cluster node runs under a group of its own")
    group, listening = str(node.group_id), ",".join(map(str, ports))
    to_node = f"-d {node.host}/32 -p tcp -m multiport --dports {listening}".split()
    elsewhere = f"! -d {node.host}/32".split()
    not_the_node = f"-m owner ! --gid-owner {group}".split()
    the_node = f"-m owner --gid-owner {group}".split()
    return [
        ["OUTPUT", "-o", "lo", *to_node, *not_the_node, "-j", "DROP"],
        ["OUTPUT", "-o", "lo", *elsewhere, *the_node, "-j", "DROP"],
    ]


def _iptables(action: str, rule: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IPTABLES, "-w", action, *rule], capture_output=True, text=True, check=False)


@contextlib.contextmanager
def cut_off(node: Node, ports: Sequence[int]) -> Iterator[None]:
    """Isolate ``node`` (listening on ``ports``) for the duration of the block. Every rule added is deleted in
    ``finally``."""
    added: list[list[str]] = []
    try:
        for rule in cut_off_rules(node, ports):
            result = _iptables("-I", rule)
            if result.returncode != 0:
                raise RuntimeError(f"iptables refused {rule}: {result.stderr.strip()}")
            added.append(rule)
        yield
    finally:
        failures = [r for r in reversed(added) if _iptables("-D", r).returncode != 0]
        if failures:
            raise RuntimeError(f"could not remove iptables rules {failures}: remove them by hand")
