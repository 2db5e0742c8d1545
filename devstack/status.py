"""What `make status` shows beyond the processes: the replica set's members, and Kafka's partition leaders
and in-sync replicas (an operator's first questions after a node failed: who leads, what is under-replicated)."""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from typing import TYPE_CHECKING

from devstack import mongo, topics

if TYPE_CHECKING:
    from devstack.stack import Stack


def replica_set_lines(stack: Stack) -> list[str]:
    try:
        states = mongo.member_states(stack.hosts, stack.ports.mongo)
    except Exception as error:  # status must answer, whatever state the set is in
        return [f"replica set {mongo.REPLICA_SET}: not answering ({error})"]
    if not states:
        return [f"replica set {mongo.REPLICA_SET}: no member answers"]
    members = ", ".join(f"{host} {state}" for host, state in sorted(states.items()))
    return [f"replica set {mongo.REPLICA_SET}: {members}"]


def partition_lines(stack: Stack) -> list[str]:
    """One line per topic, each partition as ``number:leader[in-sync replicas]``, then the totals."""
    try:
        partitions = topics.partition_states(stack.kafka_bootstrap)
    except Exception as error:
        return [f"kafka partitions: not answering ({error})"]
    lines = ["kafka partitions (partition:leader[in-sync replicas]):"]
    width = max((len(p.topic) for p in partitions), default=0)
    for topic, group in groupby(partitions, key=lambda p: p.topic):
        cells = " ".join(
            f"{p.partition}:{p.leader if p.leader >= 0 else 'none'}[{','.join(map(str, p.in_sync))}]"
            for p in group
        )
        lines.append(f"  {topic:<{width}}  {cells}")
    leaders = Counter(p.leader for p in partitions if p.leader >= 0)
    under = sum(1 for p in partitions if len(p.in_sync) < len(p.replicas))
    offline = sum(1 for p in partitions if p.leader < 0)
    led = ", ".join(f"node {node}: {count}" for node, count in sorted(leaders.items()))
    lines.append(f"  leaders: {led or 'none'}; under-replicated: {under}; offline: {offline}")
    return lines
