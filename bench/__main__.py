"""`python -m bench`: start a stack of its own, measure, print the table, keep JSON and the plots.

Every figure is the median of several runs with min and max, and every ratio is to a ceiling or a floor
measured in the same invocation, so the ratios hold on a noisy machine. The sections run in this order, all of
them unless --sections names some: pipeline (raw ceiling, scoring, replay), live (end-to-end latency and the
services' memory), intake (wrk against the feedback service), clinic (the clinic's figures and a caseload as
the clinic grows), history (scoring's cost per event as a client's history grows) and cluster (scoring's
scale-out on a three-node cluster).
"""

import argparse
import asyncio
import sys
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from bench import clinic_views, history_cost, http_load, kafka_io, pipeline, report
from bench.ceiling import raw_ceiling
from bench.intake_ceiling import TOPIC as CEILING_TOPIC
from bench.scale_out import scale_out
from bench.stats import rss_mib, spread
from bench.workload import feedback_stream
from devstack import processes
from devstack.services import SERVICES
from devstack.stack import Stack
from devstack.topics import ensure_topics
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
WORKERS = (1, 2)  # FEEDBACK_WORKERS measured
SECTIONS = ("pipeline", "live", "intake", "clinic", "history", "cluster")  # in the order they run


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def pipeline_figures(stack: Stack, env: Mapping[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """The raw ceiling, scoring and replay, run after run on the same preloaded stream."""
    records = feedback_stream(args.clients, args.sessions)
    say(f"preloading {len(records)} feedback events...")
    await kafka_io.preload(stack.kafka_bootstrap, records)
    expected = len(records)
    ceiling, scoring, scoring_peak = [], [], []
    for run in range(args.runs):
        ceiling.append(
            await raw_ceiling(stack.kafka_bootstrap, stack.mongodb_uri, SCORED_TOPICS[0], expected)
        )
        eps, peak = await pipeline.scoring_throughput(
            env, SCORED_TOPICS, expected, args.port_base + 10, stack.paths.profile_dir / "logs"
        )
        scoring.append(eps)
        scoring_peak.append(peak)
        say(f"run {run + 1}/{args.runs}: raw ceiling {ceiling[-1]:.0f} events/s, scoring {eps:.0f} events/s")
    replayed = sum((await kafka_io.end_offsets(stack.kafka_bootstrap, REPLAYED_TOPICS)).values())
    replay = []
    for run in range(args.runs):
        replay.append(pipeline.replay_throughput(env, replayed))
        say(f"replay run {run + 1}/{args.runs}: {replay[-1]:.0f} events/s ({replayed} events)")
    ceiling_median = spread(ceiling)["median"]
    return {
        "events": expected,
        "ceiling_eps": spread(ceiling),
        "scoring_eps": spread(scoring),
        "scoring_ratio": spread(scoring)["median"] / ceiling_median,
        "replay_eps": spread(replay),
        "replay_ratio": spread(replay)["median"] / ceiling_median,
        "scoring_throughput_peak_rss_mib": max(scoring_peak),
    }


def live_env(env: Mapping[str, str], webhook_url: str) -> dict[str, str]:
    return {
        **env,
        "NOTIFY_WEBHOOK_URL": webhook_url,
        "DEMO_API_KEY": API_KEY,
        "SCORING_GROUP_ID": "bench-live-scoring",
        "NOTIFY_GROUP_ID": "bench-live-notify",
        "FEEDBACK_GROUP_ID": "bench-live-feedback",
        # The per-key request budget (600/minute by default) would cap the load generator, not measure it.
        "FEEDBACK_RATE_LIMIT": "1000000/minute",
        "LOG_LEVEL": "WARNING",
    }


async def live_figures(stack: Stack, env: Mapping[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """End-to-end alert latency with the three services running, their memory, then the HTTP intake."""
    with webhook_receiver() as receiver:
        live = live_env(env, receiver.url)
        # The live services start at the end of what the throughput runs produced.
        for group, names in (
            ("bench-live-scoring", SCORED_TOPICS),
            ("bench-live-notify", [topics.RUPTURE_SUSPECTED.name]),
            (client_pages_group("bench-live-notify"), SCORED_TOPICS),
            (goals_group("bench-live-feedback"), SCORED_TOPICS),
        ):
            await kafka_io.skip_to_end(stack.kafka_bootstrap, group, names)
        stack.start_services(live)
        stack.run_seed(live)
        await asyncio.sleep(5)  # let the services settle before reading their memory
        pids = {s.name: processes.read_pidfile(stack.paths.pidfile(s.name)) for s in SERVICES}
        rest = {name: rss_mib(record.pid) for name, record in pids.items() if record}
        url = f"http://127.0.0.1:{stack.service_port('feedback')}"
        latency = []
        for rate in args.rates:
            runs = [
                http_load.end_to_end_latency(url, API_KEY, receiver, rate, args.seconds, args.alert_every)
                for _ in range(args.runs)
            ]
            say(f"end-to-end at {rate:g}/s: p99 {[round(r['p99_ms']) for r in runs]} ms")
            latency.append(
                {
                    "rate": rate,
                    "delivered": min(int(r["delivered"]) for r in runs),
                    "sent": min(int(r["sent"]) for r in runs),
                    **{
                        key: spread([r[key] for r in runs])
                        for key in ("achieved_rate", "p50_ms", "p95_ms", "p99_ms", "http_p99_ms")
                    },
                }
            )
        peaks = {name: pipeline.peak_rss(record.pid) for name, record in pids.items() if record}
        stack.stop(only=[s.name for s in SERVICES])
    rss = {name: {"rest": rest[name], "peak": peaks[name]} for name in rest}
    return {"end_to_end_latency": latency, "rss_mib": rss, "alert_every": args.alert_every}


async def intake_figures(stack: Stack, env: Mapping[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """wrk against one feedback process (1, then 2 workers) and the bare intake ceiling beside it, run after
    run: /healthz (the floor of what that server answers), POST /v1/feedback, the batch endpoint, and the
    ceiling. Scoring and notify are stopped: the CPU is the intake's and the ceiling's alone."""
    ensure_topics(stack.kafka_bootstrap, (CEILING_TOPIC,), replicas=len(stack.nodes))
    logs = stack.paths.profile_dir / "logs"
    live = live_env(env, "http://127.0.0.1:9/unused")
    ceiling_port, feedback_port = args.port_base + 20, stack.service_port("feedback")
    ceiling_url, url = f"http://127.0.0.1:{ceiling_port}", f"http://127.0.0.1:{feedback_port}"
    seconds, connections = args.seconds, args.connections
    stack.run_seed(live)  # the bench's API key, also when the live section did not run first
    figures: dict[str, Any] = {}
    with pipeline.running(
        "intake-ceiling",
        [sys.executable, "-m", "bench.intake_ceiling", "--port", str(ceiling_port)],
        live,
        ceiling_port,
        logs,
        ready_path=None,
    ):
        for workers in WORKERS:
            runs: dict[str, list[dict[str, float]]] = defaultdict(list)
            with pipeline.running(
                f"feedback-{workers}w",
                [sys.executable, "-m", "services.feedback"],
                {**live, "FEEDBACK_PORT": str(feedback_port), "FEEDBACK_WORKERS": str(workers)},
                feedback_port,
                logs,
                ready_path="/readyz",
            ):
                for run in range(args.runs):
                    runs["healthz"].append(http_load.healthz_rate(url, seconds, connections))
                    runs["feedback"].append(http_load.feedback_rate(url, API_KEY, seconds, connections))
                    if workers == 1:
                        runs["ceiling"].append(http_load.ceiling_rate(ceiling_url, seconds, connections))
                        runs["batch"].append(
                            http_load.batch_rate(url, API_KEY, seconds, args.batch_connections)
                        )
                    say(
                        f"intake, {workers} worker(s), run {run + 1}/{args.runs}: "
                        + ", ".join(f"{name} {found[-1]['rps']:.0f}/s" for name, found in runs.items())
                    )
            figures[f"{workers}_workers"] = {
                name: {key: spread([r[key] for r in found]) for key in found[0] if key != "counted"}
                for name, found in runs.items()
            }
    one = figures["1_workers"]
    feedback_rps = one["feedback"]["rps"]["median"]
    return {
        **figures,
        "feedback_to_healthz": feedback_rps / one["healthz"]["rps"]["median"],
        "feedback_to_ceiling": feedback_rps / one["ceiling"]["rps"]["median"],
        "two_workers_to_one": figures["2_workers"]["feedback"]["rps"]["median"] / feedback_rps,
        "seconds": seconds,
        "connections": connections,
    }


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """The single-node stack's sections of ``args.sections``, in their order."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
        "MONGODB_URI": stack.mongodb_uri,
        KEKS_VARIABLE: stack.service_env()[KEKS_VARIABLE],  # the stack's own KEK, unless one is set
    }
    if stack.tracing:  # every service the sections start exports its spans to the stack's Jaeger
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = stack.jaeger_ports.otlp_endpoint
    logs = stack.paths.profile_dir / "logs"
    results: dict[str, Any] = {}
    if "pipeline" in args.sections:
        results.update(await pipeline_figures(stack, env, args))
    if "live" in args.sections:
        results.update(await live_figures(stack, env, args))
    if "intake" in args.sections:
        results["intake"] = await intake_figures(stack, env, args)
    if "clinic" in args.sections:
        results["clinic_views"] = await clinic_views.clinic_view_costs(
            env,
            args.clinic_sizes,
            args.caseload,
            args.repeats,
            port=args.port_base + 30,
            log_dir=logs,
            say=say,
        )
    if "history" in args.sections:
        results["history_cost"] = await history_cost.history_costs(
            env,
            args.history_sizes,
            port=args.port_base + 10,
            log_dir=logs,
            say=say,
            runs=args.runs,
            total=args.history_events,
            resubmissions=args.resubmissions,
        )
    return results


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="the parts to run (default: all; they run in the order above whatever the order given)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median, min, max)")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=10, help="sessions per client")
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 100, 200, 300])
    parser.add_argument("--seconds", type=float, default=10, help="length of each HTTP run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections for the intake runs")
    parser.add_argument("--batch-connections", type=int, default=4, help="wrk connections for the batch runs")
    parser.add_argument(
        "--alert-every", type=int, default=10, help="one latency-run feedback in this many raises an alert"
    )
    for option, default, meaning in (
        ("--clinic-sizes", clinic_views.SIZES, "clients in the clinic at each step of the clinic section"),
        ("--history-sizes", history_cost.SIZES, "stored events per client, one history stream each"),
    ):
        parser.add_argument(option, type=int, nargs="+", default=list(default), help=meaning)
    for option, number, meaning in (
        ("--caseload", clinic_views.CASELOAD, "clients of the timed caseload (at most the smallest clinic)"),
        ("--repeats", clinic_views.REPEATS, "timed requests per endpoint and clinic size"),
        ("--history-events", history_cost.TOTAL, "events per history stream (at least the largest history)"),
        ("--resubmissions", history_cost.RESUBMISSIONS, "sends of one rating per resubmitting client"),
    ):
        parser.add_argument(option, type=int, default=number, help=meaning)
    parser.add_argument(
        "--replicas",
        type=int,
        nargs="*",
        default=[1, 2, 4],
        help="scoring replicas on the cluster (none: skip the cluster)",
    )
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="run the single-node sections with tracing on: Jaeger beside the stack, every span exported",
    )
    parser.add_argument("--port-base", type=int, default=BASE_PORT, help="the stack's ports are above this")
    parser.add_argument("--profile", default="bench", help="the devstack profile (state under .stack/)")
    args = parser.parse_args()
    # Refused here rather than after the sections before them have run for minutes.
    if "clinic" in args.sections and args.caseload > min(args.clinic_sizes):
        parser.error("--caseload must fit in the smallest of --clinic-sizes")
    if "history" in args.sections and max(args.history_sizes) > args.history_events:
        parser.error("--history-events must hold the largest of --history-sizes")
    args.sections = [name for name in SECTIONS if name in args.sections]
    return args


def main() -> None:
    args = arguments()
    base = args.port_base
    results: dict[str, Any] = {"runs": args.runs, "sections": args.sections, "tracing": args.tracing}
    if set(args.sections) - {"cluster"}:
        stack = Stack.above(base, args.profile, tracing=args.tracing, say=say)
        stack.ensure_installed()
        stack.wipe()
        stack.start_infra()
        if args.tracing:
            stack.start_jaeger()
        try:
            results.update(asyncio.run(measure(stack, args)))
        finally:
            stack.stop()
    if "cluster" in args.sections and args.replicas:
        cluster = Stack.above(base + 1000, args.profile, nodes=3, say=say)
        cluster.ensure_installed()
        cluster.wipe()
        cluster.start_infra()
        try:
            results["scale_out"] = asyncio.run(scale_out(cluster, args, args.replicas, say))
        finally:
            cluster.stop()
    path = report.write(results)
    print(report.table(results))
    say(f"results: {path} (and bench/results/latest.json and the plots beside it)")


if __name__ == "__main__":
    main()
