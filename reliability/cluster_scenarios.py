"""The cluster's fault scenarios: a broker, a mongod or a whole node lost, paused, cut off or restarted in
turn while the load flows, each judged by the same oracle as the single-node scenarios.

They run against ``tests/reliability/conftest.py``'s ``cluster``: three Kafka nodes, a three-member replica set
and two replicas each of scoring and notify. Every fault notes what it did (which node, how long it took) on
the run, so the scorecard's notes say what happened, not just what was planned.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

from devstack.stack import Stack
from reliability import nodes
from reliability.platform import restart_infra
from reliability.run import Run
from reliability.scenarios import Fault, Scenario
from shared import topics

DOWN_SECONDS = 20.0  # a killed process is started again this long after
PAUSE_SECONDS = 30.0  # a paused broker, a node cut off


Step = Callable[[Run, Stack], Awaitable[None]]


def at_fraction(at: float, step: Step) -> Fault:
    """A fault that plays ``step`` once ``at`` of the stream was accepted; recovery is measured from its end."""

    async def fault(run: Run) -> None:
        await run.at(at)
        await step(run, run.platform.stack)
        run.fault_ended()

    return fault


def leading_broker(stack: Stack) -> str:
    """The broker that leads the most partitions of ``client.events``, where the intake writes every rating
    and session record."""
    return nodes.leader_of_most(stack, topics.CLIENT_EVENTS.name).kafka


def primary_mongod(stack: Stack) -> str:
    return nodes.primary(stack).mongod


def killed_and_restarted(victim: Callable[[Stack], str], which: str) -> Step:
    """SIGKILL the process ``victim`` names when the fault starts, start it again 20 s later."""

    async def step(run: Run, stack: Stack) -> None:
        name = await run.blocking(victim, stack)
        await run.blocking(nodes.kill, stack, name)
        run.notes.append(f"SIGKILL {name} ({which})")
        await asyncio.sleep(DOWN_SECONDS)
        await run.blocking(restart_infra, stack, name)

    return step


async def broker_paused(run: Run, stack: Stack) -> None:
    """SIGSTOP a broker for 30 s, then SIGCONT: it keeps its connections open and answers nothing."""
    name = await run.blocking(leading_broker, stack)
    with nodes.paused(stack, name):
        run.notes.append(f"SIGSTOP {name} for {PAUSE_SECONDS:.0f} s")
        await asyncio.sleep(PAUSE_SECONDS)


async def primary_stepped_down(run: Run, stack: Stack) -> None:
    node = await run.blocking(nodes.step_down, stack)
    waited = await run.blocking(nodes.wait_new_primary, stack, node)
    run.notes.append(f"forced step-down of {node.mongod}; new primary after {waited:.1f} s")


async def node_cut_off(run: Run, stack: Stack) -> None:
    """Cut the node of the replica set's primary off from everyone (its broker with it) for 30 s."""
    node = await run.blocking(nodes.primary, stack)
    with nodes.cut_off(node, nodes.node_ports(stack)):
        cut = time.monotonic()
        noticed = await run.blocking(nodes.wait_isolated, stack, node)
        run.notes.append(
            f"cut off {node.host} ({node.kafka}, {node.mongod}) for {PAUSE_SECONDS:.0f} s; "
            f"the others wrote it off after {noticed:.1f} s"
        )
        await asyncio.sleep(max(0.0, PAUSE_SECONDS - (time.monotonic() - cut)))


async def rolling_restart(run: Run, stack: Stack) -> None:
    """An upgrade: every broker, then every mongod (secondaries first, the primary last: it steps down on
    SIGTERM), then every service replica, one at a time, each waiting until the cluster is whole again."""
    platform = run.platform
    started = time.monotonic()
    for name in stack.kafka_names:
        await run.blocking(nodes.stop, stack, name)
        await run.blocking(restart_infra, stack, name)
        await run.blocking(nodes.wait_in_sync, stack)
    first = await run.blocking(nodes.primary, stack)
    for name in [*(n for n in stack.mongod_names if n != first.mongod), first.mongod]:
        await run.blocking(nodes.stop, stack, name)
        await run.blocking(restart_infra, stack, name)
        await run.blocking(nodes.wait_in_sync, stack)
    for name in platform.service_replicas():
        await run.blocking(platform.stop_one, name)
        await run.blocking(platform.restart_replica, name)
    run.notes.append(
        f"rolling restart of {len(stack.names()) + len(platform.replicas)} processes took "
        f"{time.monotonic() - started:.0f} s"
    )


async def two_brokers_down(run: Run, stack: Stack) -> None:
    """Two of three brokers killed at once: no partition can have two in-sync replicas, and the controller
    quorum is lost. The intake must refuse (503) rather than accept what it cannot store twice."""
    victims = stack.kafka_names[1:]
    for name in victims:
        await run.blocking(nodes.kill, stack, name)
    run.outage_started()
    run.notes.append(f"SIGKILL {', '.join(victims)} for {DOWN_SECONDS:.0f} s")
    await asyncio.sleep(DOWN_SECONDS)
    run.outage_ended()
    await run.blocking(restart_infra, stack, *victims)


# DESIGN.md's bar for a cluster fault: at least 200 events a second for at least 60 s while it plays out.
RATE = 220.0
SECONDS = 75.0


def _under_load(name: str, summary: str, fault: Fault | None, seconds: float = SECONDS) -> Scenario:
    # Batches, as a system syncing a clinic's records sends them: the three-member replica set costs each
    # request several milliseconds of CPU, and single requests saturate two cores at about 110 a second.
    return Scenario(
        name, summary, fault, clinics=3, therapists=8, clients=8, rate=RATE, seconds=seconds, batched=True
    )


LEADER_KILLED = _under_load(
    "broker leader killed",
    "SIGKILL the leader of most client.events partitions, back after 20 s",
    at_fraction(0.25, killed_and_restarted(leading_broker, "leader of most client.events partitions")),
)


def catalogue() -> list[Scenario]:
    return [
        _under_load("cluster baseline", "no fault: the reference run on the cluster", None),
        LEADER_KILLED,
        _under_load(
            "broker paused", "SIGSTOP a broker for 30 s, then SIGCONT", at_fraction(0.25, broker_paused)
        ),
        _under_load(
            "mongod primary killed",
            "SIGKILL the primary, back after 20 s",
            at_fraction(0.25, killed_and_restarted(primary_mongod, "the primary")),
        ),
        _under_load(
            "primary stepped down",
            "forced replSetStepDown of the primary",
            at_fraction(0.3, primary_stepped_down),
        ),
        _under_load(
            "node cut off",
            "the primary's node (broker and mongod) cut off by iptables for 30 s",
            at_fraction(0.25, node_cut_off),
        ),
        # One node at a time, each waiting for the cluster to be whole again: it takes longer than the others.
        _under_load(
            "rolling restart",
            "every broker, mongod and service replica restarted in turn",
            at_fraction(0.05, rolling_restart),
            seconds=150.0,
        ),
        _under_load(
            "two brokers down",
            "two of three brokers SIGKILLed for 20 s: intake answers 503",
            at_fraction(0.25, two_brokers_down),
        ),
    ]
