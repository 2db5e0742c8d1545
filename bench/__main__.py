"""`python -m bench`: start a stack of its own, measure, print the table, keep JSON and a plot.

Every figure is the median of several runs with min and max, all in one invocation so ratios hold on a
noisy machine.
"""

import argparse
import asyncio
import sys
from collections import defaultdict
from typing import Any

from bench import http_load, kafka_io, pipeline, report
from bench.ceiling import raw_ceiling
from bench.stats import rss_mib, spread
from bench.workload import feedback_stream
from devstack import processes
from devstack.services import SERVICES
from devstack.stack import Stack
from services.feedback.goals import goals_group
from services.notify.client_events import client_pages_group
from services.scoring.replay import INBOUND as REPLAY_READS
from shared import topics
from shared.privacy.keys import KEKS_VARIABLE
from tests.support.webhook_receiver import webhook_receiver

BASE_PORT = 22000  # below Linux's ephemeral range (32768-60999), so no client socket holds our ports
API_KEY = "bench-key-0123456789abcdef"
SCORED_TOPICS = [topics.CLIENT_EVENTS.name]
REPLAYED_TOPICS = list(REPLAY_READS.names)  # every topic the replay reads, rupture.suspected included


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
        "MONGODB_URI": stack.mongodb_uri,
        KEKS_VARIABLE: stack.service_env()[KEKS_VARIABLE],  # the stack's own KEK, unless one is set
    }
    records = feedback_stream(args.clients, args.sessions)
    say(f"preloading {len(records)} feedback events...")
    await kafka_io.preload(stack.kafka_bootstrap, records)
    expected = len(records)

    ceiling = []
    for run in range(args.runs):
        ceiling.append(
            await raw_ceiling(stack.kafka_bootstrap, stack.mongodb_uri, SCORED_TOPICS[0], expected)
        )
        say(f"raw ceiling run {run + 1}/{args.runs}: {ceiling[-1]:.0f} events/s")
    scoring, scoring_peak = [], []
    for run in range(args.runs):
        eps, peak = await pipeline.scoring_throughput(
            env, SCORED_TOPICS, expected, args.port_base + 10, stack.paths.profile_dir / "logs"
        )
        scoring.append(eps)
        scoring_peak.append(peak)
        say(f"scoring run {run + 1}/{args.runs}: {eps:.0f} events/s")
    replayed = sum((await kafka_io.end_offsets(stack.kafka_bootstrap, REPLAYED_TOPICS)).values())
    replay = []
    for run in range(args.runs):
        replay.append(pipeline.replay_throughput(env, replayed))
        say(f"replay run {run + 1}/{args.runs}: {replay[-1]:.0f} events/s ({replayed} events)")

    with webhook_receiver() as receiver:
        live = {
            **env,
            "NOTIFY_WEBHOOK_URL": receiver.url,
            "DEMO_API_KEY": API_KEY,
            "SCORING_GROUP_ID": "bench-live-scoring",
            "NOTIFY_GROUP_ID": "bench-live-notify",
            "FEEDBACK_GROUP_ID": "bench-live-feedback",
            # The per-key request budget (600/minute by default) would cap the load generator, not measure it.
            "FEEDBACK_RATE_LIMIT": "1000000/minute",
            "LOG_LEVEL": "WARNING",
        }
        # The live services start at the end of what the throughput runs produced.
        await kafka_io.skip_to_end(stack.kafka_bootstrap, "bench-live-scoring", SCORED_TOPICS)
        await kafka_io.skip_to_end(
            stack.kafka_bootstrap, "bench-live-notify", [topics.RUPTURE_SUSPECTED.name]
        )
        await kafka_io.skip_to_end(
            stack.kafka_bootstrap, client_pages_group("bench-live-notify"), [topics.CLIENT_EVENTS.name]
        )
        await kafka_io.skip_to_end(
            stack.kafka_bootstrap, goals_group("bench-live-feedback"), [topics.CLIENT_EVENTS.name]
        )
        stack.start_services(live)
        stack.run_seed(live)
        await asyncio.sleep(5)  # let the services settle before reading their memory
        pids = {s.name: processes.read_pidfile(stack.paths.pidfile(s.name)) for s in SERVICES}
        rest = {name: rss_mib(record.pid) for name, record in pids.items() if record}
        url = f"http://127.0.0.1:{stack.service_port('feedback')}"
        intake_runs: dict[str, list[float]] = defaultdict(list)
        for run in range(args.runs):
            for key, value in (await http_load.intake_throughput(url, API_KEY, args.requests, 32)).items():
                intake_runs[key].append(value)
            say(f"intake run {run + 1}/{args.runs}: {intake_runs['rps'][-1]:.0f} requests/s")
        latency = []
        for rate in args.rates:
            runs = [
                await http_load.end_to_end_latency(
                    url, API_KEY, receiver, rate, args.seconds, args.alert_share
                )
                for _ in range(args.runs)
            ]
            say(f"end-to-end at {rate}/s: p99 {[round(r['p99_ms']) for r in runs]} ms")
            latency.append(
                {
                    "rate": rate,
                    "delivered": min(int(r["delivered"]) for r in runs),
                    "sent": runs[0]["sent"],
                    **{key: spread([r[key] for r in runs]) for key in ("p50_ms", "p95_ms", "p99_ms")},
                }
            )
        peaks = {name: pipeline.peak_rss(record.pid) for name, record in pids.items() if record}
        stack.stop(only=[s.name for s in SERVICES])

    rss: dict[str, dict[str, float]] = {name: {"rest": rest[name], "peak": peaks[name]} for name in rest}
    rss["scoring (throughput run)"] = {"rest": float("nan"), "peak": max(scoring_peak)}
    ceiling_spread = spread(ceiling)
    return {
        "events": expected,
        "ceiling_eps": ceiling_spread,
        "scoring_eps": spread(scoring),
        "scoring_ratio": spread(scoring)["median"] / ceiling_spread["median"],
        "replay_eps": spread(replay),
        "replay_ratio": spread(replay)["median"] / ceiling_spread["median"],
        "intake": {key: spread(values) for key, values in intake_runs.items()},
        "end_to_end_latency": latency,
        "rss_mib": rss,
        "runs": args.runs,
        "alert_share": args.alert_share,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median, min, max)")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=10, help="sessions per client")
    parser.add_argument("--requests", type=int, default=2000, help="requests per intake run")
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 100, 200, 300])
    parser.add_argument("--seconds", type=float, default=10, help="length of each latency run")
    parser.add_argument(
        "--alert-share", type=float, default=0.1, help="share of latency-run feedback that raises an alert"
    )
    parser.add_argument("--port-base", type=int, default=BASE_PORT, help="the stack's ports are above this")
    parser.add_argument("--profile", default="bench", help="the devstack profile (state under .stack/)")
    args = parser.parse_args()
    base = args.port_base
    stack = Stack(
        profile=args.profile,
        kafka_port=base + 92,
        kafka_controller_port=base + 93,
        mongo_port=base + 17,
        service_ports={"feedback": base + 1, "scoring": base + 2, "notify": base + 3},
        say=say,
    )
    stack.ensure_installed()
    stack.wipe()
    stack.start_infra()
    try:
        results = asyncio.run(measure(stack, args))
    finally:
        stack.stop()
    path = report.write(results)
    print(report.table(results))
    say(f"results: {path} (and bench/results/latest.json, bench/results/latency.png)")


if __name__ == "__main__":
    main()
