"""Scoring's scale-out curve on the three-node cluster (three Kafka nodes, a three-member replica set): the
same preloaded stream drained by 1, 2 and 4 scoring replicas in one consumer group, against the raw ceiling
on the same cluster. client.events has 6 partitions, so 4 replicas hold 2, 2, 1 and 1 of them."""

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from bench import kafka_io, pipeline
from bench.ceiling import raw_ceiling
from bench.stats import spread
from bench.workload import feedback_stream
from devstack.stack import Stack
from shared import topics
from shared.privacy.keys import KEKS_VARIABLE


async def scale_out(
    stack: Stack, args: argparse.Namespace, replicas: Sequence[int], say: Callable[[str], None]
) -> dict[str, Any]:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
        "MONGODB_URI": stack.mongodb_uri,
        KEKS_VARIABLE: stack.service_env()[KEKS_VARIABLE],
    }
    topic = topics.CLIENT_EVENTS.name
    records = feedback_stream(args.clients, args.sessions, tag="cluster")
    await kafka_io.preload(stack.kafka_bootstrap, records)
    ceiling = []
    for run in range(args.runs):
        ceiling.append(await raw_ceiling(stack.kafka_bootstrap, stack.mongodb_uri, topic, len(records)))
        say(f"cluster raw ceiling run {run + 1}/{args.runs}: {ceiling[-1]:.0f} events/s")
    curve = []
    for count in replicas:
        rates = []
        for run in range(args.runs):
            eps, _ = await pipeline.scoring_throughput(
                env,
                [topic],
                len(records),
                args.port_base + 600,
                stack.paths.profile_dir / "logs",
                replicas=count,
            )
            rates.append(eps)
            say(f"cluster scoring, {count} replica(s), run {run + 1}/{args.runs}: {eps:.0f} events/s")
        curve.append(
            {
                "replicas": count,
                "eps": spread(rates),
                "ratio": spread(rates)["median"] / spread(ceiling)["median"],
            }
        )
    return {"events": len(records), "ceiling_eps": spread(ceiling), "curve": curve}
