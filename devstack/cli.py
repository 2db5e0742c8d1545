"""``python -m devstack <command>``: install | infra | up | run | down | status."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType

from devstack import demo, status
from devstack.errors import StackError
from devstack.layout import NODE_COUNTS
from devstack.services import DEFAULT_DEMO_API_KEY, SERVICES, service_url
from devstack.stack import Stack

SAMPLE_FEEDBACK = (
    '{"session_id":"s-1","therapist_id":"t-1","client_id":"c-1","session_at":"2026-11-20T10:00:00+00:00",'
    '"instrument":"srs","respondent":"client","items":{"relationship":7.5,"goals":7.0,"approach":8.0,"overall":7.5}}'
)


def _say(line: str) -> None:
    # Best effort: after a SIGHUP the terminal may be gone, and a failed print must not skip the cleanup.
    with contextlib.suppress(OSError):
        print(line, flush=True)


def _on_stop_signal(signum: int, frame: FrameType | None) -> None:
    # SIGTERM and SIGHUP (terminal closed) take the same road as Ctrl-C: unwind and stop what we started.
    # Without this, a closed terminal would kill `run` and leave its children (own sessions) running.
    raise KeyboardInterrupt


def _ignore_signals() -> None:
    """While we shut things down, a second Ctrl-C must not abandon half-stopped processes."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


# ---- commands ------------------------------------------------------------------------------------


def cmd_install(stack: Stack, args: argparse.Namespace) -> int:
    stack.ensure_installed()
    _say("installed: Kafka jars and mongod are in place")
    return 0


def cmd_infra(stack: Stack, args: argparse.Namespace) -> int:
    stack.ensure_installed()
    stack.start_infra()
    _say(f"KAFKA_BOOTSTRAP_SERVERS={stack.kafka_bootstrap}")
    _say(f"MONGODB_URI={stack.mongodb_uri}")
    _say(f"stop with: python -m devstack down --profile {stack.profile}")
    return 0


def cmd_down(stack: Stack, args: argparse.Namespace) -> int:
    stopped = stack.stop()
    _say(f"stopped: {', '.join(stopped)}" if stopped else f"nothing of profile {stack.profile!r} was running")
    return 0


def cmd_status(stack: Stack, args: argparse.Namespace) -> int:
    rows = stack.status()
    if args.nodes is None and not any(row.running or row.pid for row in rows):
        _say("nothing running")
        return 0
    for row in rows:
        state = "running" if row.running else ("stale pid file" if row.pid else "stopped")
        pid = str(row.pid) if row.pid and row.running else "-"
        _say(f"{row.name:<9} {state:<15} pid {pid:<8} {row.address}")
    running = {row.name for row in rows if row.running}
    if running & set(stack.mongod_names):
        _say("")
        for line in status.replica_set_lines(stack):
            _say(line)
    if running & set(stack.kafka_names):
        _say("")
        for line in status.partition_lines(stack):
            _say(line)
    return 0


def cmd_up(stack: Stack, args: argparse.Namespace) -> int:
    env = dict(os.environ)
    started: list[str] = []
    try:
        _bring_up(stack, env, started)
    except KeyboardInterrupt:
        _ignore_signals()
        _say("interrupted; stopping what this command started...")
        stack.stop(only=started)
        return 130
    except StackError as exc:
        _error(exc)
        running = [row.name for row in stack.status() if row.running and row.name in started]
        if running:
            _say(
                f"left running: {', '.join(running)} (stop with: python -m devstack down --profile {stack.profile})"
            )
        return 1
    _print_summary(stack, env)
    _say(
        "stop with: make down"
        if stack.profile == "dev"
        else f"stop with: python -m devstack down --profile {stack.profile}"
    )
    return 0


def cmd_run(stack: Stack, args: argparse.Namespace) -> int:
    env = dict(os.environ)
    started: list[str] = []
    code = 0
    try:
        _bring_up(stack, env, started)
        _print_summary(stack, env)
        _say("running in the foreground; Ctrl-C stops everything")
        _watch(stack, started)
    except KeyboardInterrupt:
        pass
    except StackError as exc:
        _error(exc)
        code = 1
    finally:
        _ignore_signals()
        _say("stopping...")
        stopped = stack.stop(only=started)
        _say(f"stopped: {', '.join(stopped)}" if stopped else "nothing to stop")
    return code


# ---- helpers -------------------------------------------------------------------------------------


def _bring_up(stack: Stack, env: Mapping[str, str], started: list[str]) -> None:
    """install, infrastructure, services, seed. `started` collects what this call started, as it goes,
    so an interrupted start-up can stop exactly that. Kafka or mongod given by the caller's
    KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI are used as they are and not started here."""
    external_kafka = env.get("KAFKA_BOOTSTRAP_SERVERS")
    external_mongo = env.get("MONGODB_URI")
    local_kafka, local_mongo = external_kafka is None, external_mongo is None
    stack.ensure_installed(kafka=local_kafka, mongo=local_mongo)
    if local_kafka or local_mongo:
        started += stack.start_infra(kafka=local_kafka, mongo=local_mongo)
    if external_kafka is not None:
        _say(f"using the caller's Kafka at {external_kafka}")
        stack.create_topics(external_kafka)
    if external_mongo is not None:
        _say(f"using the caller's MongoDB at {external_mongo}")
    if stack.tracing:
        started += stack.start_jaeger()
    started += [s.name for s in SERVICES]  # listed first: start_services may be interrupted half-way
    stack.start_services(env)
    _say("seeding the demo clinic...")
    stack.run_seed(env)
    _seed_demo_history(stack, env)


def _demo_urls(stack: Stack, env: Mapping[str, str]) -> tuple[str, str, str]:
    child_env = stack.service_env(env)
    return (
        service_url(int(child_env["FEEDBACK_PORT"])),
        service_url(int(child_env["SCORING_PORT"])),
        child_env.get("DEMO_API_KEY", DEFAULT_DEMO_API_KEY),
    )


def _seed_demo_history(stack: Stack, env: Mapping[str, str]) -> None:
    """Demo history for the clinician views, through the feedback service's HTTP API."""
    feedback, scoring, api_key = _demo_urls(stack, env)
    try:
        demo.seed(feedback, scoring, api_key, _say)
    except (demo.DemoError, OSError) as exc:  # the stack itself is up: say so and carry on
        _say(f"demo history not seeded: {exc}")


def _watch(stack: Stack, started: list[str]) -> None:
    """Sit in the foreground; say once when something we started dies (its log has the reason)."""
    reported: set[str] = set()
    while True:
        time.sleep(1.0)
        for row in stack.status():
            if row.name in started and not row.running and row.name not in reported:
                reported.add(row.name)
                _say(f"{row.name} exited; see {stack.paths.log(row.name)}")


def _print_summary(stack: Stack, env: Mapping[str, str]) -> None:
    child_env = stack.service_env(env)
    _say("")
    _say(f"stack {stack.profile!r} is up:")
    _say(f"  {'kafka':<9} {child_env['KAFKA_BOOTSTRAP_SERVERS']}")
    _say(f"  {'mongod':<9} {child_env['MONGODB_URI']}")
    for service in SERVICES:
        _say(f"  {service.name:<9} {service_url(int(child_env[service.port_env]))}")
    if stack.tracing:
        _say(f"  {'jaeger':<9} {stack.jaeger_ports.ui_url}  (traces of every request and event)")
    _say(f"  logs      {stack.paths.profile_dir / 'logs'}")
    feedback = next(s for s in SERVICES if s.name == "feedback")
    _say("")
    _say("try it:")
    _say(curl_command(int(child_env[feedback.port_env]), child_env.get("DEMO_API_KEY", DEFAULT_DEMO_API_KEY)))
    _say("")
    _, scoring, api_key = _demo_urls(stack, env)
    with contextlib.suppress(OSError):
        demo.print_links(scoring, api_key, _say, child_env)
        _say("")


def curl_command(feedback_port: int, api_key: str) -> str:
    """A paste-ready curl that submits one sample feedback form to the feedback service."""
    header = f"Authorization: Bearer {api_key}"
    # Double quotes as in the docs when the key is plain; shell-quoted otherwise, so pasting stays safe.
    auth = f'"{header}"' if re.fullmatch(r"[A-Za-z0-9._~+/=-]*", api_key) else shlex.quote(header)
    return (
        f"curl -sS -X POST {service_url(feedback_port)}/v1/feedback -H {auth} "
        f"-H \"Content-Type: application/json\" -d '{SAMPLE_FEEDBACK}'"
    )


def _error(exc: BaseException) -> None:
    print(f"devstack: error: {exc}", file=sys.stderr, flush=True)


COMMANDS: dict[str, tuple[Callable[[Stack, argparse.Namespace], int], str]] = {
    "install": (cmd_install, "fetch the Kafka jars and install mongod (first time only)"),
    "infra": (cmd_infra, "start Kafka + mongod and create the topics (what the tests need)"),
    "up": (cmd_up, "install, start infra and the services, seed the demo clinic, then return"),
    "run": (cmd_run, "like up, but stay in the foreground; Ctrl-C or SIGTERM stops everything it started"),
    "down": (cmd_down, "stop everything of this profile (services, then Kafka, then mongod)"),
    "status": (cmd_status, "show each process: pid, running or not, address"),
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--profile",
        default=os.environ.get("DEVSTACK_PROFILE", "dev"),
        help="which stack: 'dev' (Kafka 9092, MongoDB 27017) or 'test' (19092, 27117); default $DEVSTACK_PROFILE or dev",
    )
    common.add_argument("--kafka-port", type=int, help="Kafka broker port (overrides the profile's)")
    common.add_argument("--kafka-controller-port", type=int, help="Kafka KRaft controller port")
    common.add_argument("--mongo-port", type=int, help="mongod port")
    common.add_argument(
        "--nodes",
        type=int,
        choices=NODE_COUNTS,
        help="1 (default) or 3: a cluster of Kafka nodes and mongods on 127.0.0.1-3; "
        "down and status without it cover both",
    )
    common.add_argument(
        "--tracing",
        action="store_true",
        help="up and run: also start Jaeger (built from the Go module proxy the first time) and export every "
        "service's traces to it",
    )
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="Local stack: a real Kafka (KRaft) and mongod (replica set rs0) as processes, plus the services. "
        "State lives under .stack/<profile>/. Service ports come from FEEDBACK_PORT, SCORING_PORT, NOTIFY_PORT.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, (_, help_text) in COMMANDS.items():
        commands.add_parser(name, parents=[common], help=help_text, description=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Ctrl-C, SIGTERM and SIGHUP (terminal closed) all unwind through KeyboardInterrupt, even if our parent started us with
    # SIGINT ignored (as shells do for background jobs): `run` must always be stoppable and clean up.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_stop_signal)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # respect nohup
        signal.signal(signal.SIGHUP, _on_stop_signal)
    try:
        handler, _ = COMMANDS[args.command]
        # down and status, without --nodes, cover the profile's one-node stack and its cluster alike.
        both = args.nodes is None and args.command in ("down", "status")
        counts = [n for n in NODE_COUNTS if n == 1 or Stack.has_state(args.profile, n)] if both else None
        code = 0
        for nodes in counts or [args.nodes or 1]:
            stack = Stack(
                args.profile,
                nodes=nodes,
                kafka_port=args.kafka_port,
                kafka_controller_port=args.kafka_controller_port,
                mongo_port=args.mongo_port,
                tracing=args.tracing,
                say=_say,
            )
            if counts and len(counts) > 1:
                _say(f"== {'one node' if nodes == 1 else f'cluster of {nodes}'} ({stack.paths.profile_dir})")
            code = handler(stack, args) or code
        return code
    except (StackError, ValueError) as exc:
        _error(exc)
        return 1
    except KeyboardInterrupt:
        return 130
