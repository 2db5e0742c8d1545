"""What one event costs the scoring process as a client's history grows: the ``history`` section of
``python -m bench``.

Streams of the same number of events, each drained by the real scoring process (``pipeline.
scoring_throughput``: a fresh consumer group and a fresh database, every delivery guarantee on):

- ``facts_<n>``: clients with ``n`` weekly sessions each (``total / n`` clients), so the history a client's
  events are applied to grows up to ``n`` stored events;
- ``resubmissions``: a few clients, each with one session's rating resent ``resubmissions`` times without an
  Idempotency-Key (new event ids, same session), as a client system retrying produces.

Each stream is alone on ``client.events`` while it is drained (the topic is made anew before it is loaded),
so a run reads exactly its own events. The streams take turns run after run, so a noisy neighbour on the
machine weighs on all of them alike. The raw ceiling (``ceiling.raw_ceiling``) is measured on the smallest
history's stream in the same runs, so scoring's share of it is a ratio taken in one invocation.
"""

import asyncio
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from bench import kafka_io, pipeline
from bench.ceiling import raw_ceiling
from bench.stats import spread
from bench.workload import Record, feedback_stream, resubmission_stream
from shared import topics

TOPIC = topics.CLIENT_EVENTS
SIZES = (10, 100, 1000)  # stored events per client, the sizes
TOTAL = 10_000  # events per stream
RESUBMISSIONS = 1000  # sends of one rating per client


def streams(sizes: Sequence[int], total: int, resubmissions: int) -> dict[str, list[Record]]:
    """The streams by name, each of ``total`` events (rounded down to whole clients)."""
    found = {f"facts_{n}": feedback_stream(total // n, n, tag=f"h{n}") for n in sizes}
    found["resubmissions"] = resubmission_stream(max(1, total // resubmissions), resubmissions, tag="hr")
    return found


async def history_costs(
    env: Mapping[str, str],
    sizes: Sequence[int] = SIZES,
    *,
    port: int,
    log_dir: Path,
    say: Callable[[str], None],
    runs: int = 3,
    total: int = TOTAL,
    resubmissions: int = RESUBMISSIONS,
) -> dict[str, Any]:
    """The scoring process's cost per event for each stream, as the median, min and max of ``runs`` runs::

        {"events": {name: count}, "runs": runs, "resubmissions": resubmissions,
         "streams": {name: {"us_per_event": spread, "events_per_s": spread,    # name: facts_<n>, resubmissions
                            "peak_rss_mib": float}},                      # the scoring process's, at most
         "ceiling_eps": spread, "scoring_ratio": float,   # scoring on facts_<min size> / the raw ceiling
         "worst_to_best": float}   # the highest median µs/event over the lowest

    ``env`` names the running stack (``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URI``, and its KEK); ``port`` is
    the scoring process's HTTP port; its logs go to ``log_dir``, each run's figure to ``say``."""
    if not sizes or max(sizes) > total:
        raise ValueError("every history must fit in a stream's events")
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    chosen = streams(sizes, total, resubmissions)
    rates: dict[str, list[float]] = {name: [] for name in chosen}
    peaks: dict[str, list[float]] = {name: [] for name in chosen}
    ceiling: list[float] = []
    smallest = f"facts_{min(sizes)}"
    for run in range(runs):
        for name, records in chosen.items():
            await fresh_topic(bootstrap, TOPIC)
            await kafka_io.preload(bootstrap, records)
            if name == smallest:
                ceiling.append(await raw_ceiling(bootstrap, env["MONGODB_URI"], TOPIC.name, len(records)))
            eps, peak = await pipeline.scoring_throughput(env, [TOPIC.name], len(records), port, log_dir)
            rates[name].append(eps)
            peaks[name].append(peak)
            say(f"run {run + 1}/{runs} {name}: {eps:.0f} events/s ({1e6 / eps:.0f} µs/event)")
    figures: dict[str, dict[str, Any]] = {
        name: {
            "us_per_event": spread([1e6 / eps for eps in found]),
            "events_per_s": spread(found),
            "peak_rss_mib": max(peaks[name]),
        }
        for name, found in rates.items()
    }
    medians = [f["us_per_event"]["median"] for f in figures.values()]
    return {
        "events": {name: len(records) for name, records in chosen.items()},
        "runs": runs,
        "resubmissions": resubmissions,
        "streams": figures,
        "ceiling_eps": spread(ceiling),
        "scoring_ratio": figures[smallest]["events_per_s"]["median"] / spread(ceiling)["median"],
        "worst_to_best": max(medians) / min(medians),
    }


async def fresh_topic(bootstrap: str, topic: topics.Topic, within: float = 60.0) -> None:
    """Delete ``topic`` and create it again, empty, with the same partitions and replication: its offsets
    start at zero, which is what ``scoring_throughput`` counts progress in."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        described = await admin.describe_topics([topic.name])
        partitions = described[0]["partitions"]
        replication = len(partitions[0]["replicas"]) if partitions else 1
        await admin.delete_topics([topic.name])
        deadline = asyncio.get_running_loop().time() + within
        while True:  # the deletion completes in the background; until then the name is taken
            try:
                response = await admin.create_topics([NewTopic(topic.name, topic.partitions, replication)])
                if all(error[1] == 0 for error in response.topic_errors):
                    break
            except KafkaError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"could not create {topic.name} again within {within:.0f} s")
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
    await kafka_io.end_offsets(bootstrap, [topic.name])  # its partitions have leaders again
