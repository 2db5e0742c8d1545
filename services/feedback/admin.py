"""Operator commands for clinics and their API keys (installed as ``alliance``).

    alliance create-clinic CLINIC
    alliance issue-key CLINIC [--scope ingest --scope read ...] [--key KEY]
    alliance revoke-key CLINIC KEY_ID
    alliance list-keys CLINIC
    alliance ensure-demo-clinic
    alliance fit-trajectories [CLINIC]
    alliance new-kek
    alliance rotate-kek
    alliance erase-client CLINIC CLIENT --reason REASON
    alliance export-clinic CLINIC DIR
    alliance erase-clinic CLINIC --reason REASON

Key changes are events on the compacted ``clinic.keys`` topic; every service follows it, so a revocation
takes effect everywhere within moments. A new key is printed once and never stored in clear.

``fit-trajectories`` fits the expected trajectories now, on scoring's database (scoring's settings): it needs
the scoring service's code, so it runs where the whole platform is installed, or in the scoring container
(``docker compose exec scoring alliance fit-trajectories``). So do the commands of a client's data lifecycle
(docs/privacy.md): ``rotate-kek``, ``erase-client``, ``export-clinic`` and ``erase-clinic``.
"""

import argparse
import asyncio
import secrets
import sys
from collections.abc import Awaitable, Callable

from faststream.kafka import KafkaBroker
from pydantic import TypeAdapter, ValidationError

from services.feedback.settings import FeedbackSettings
from shared.auth import KeyRing, Scope
from shared.clinic_keys import catch_up, publish_key, publish_key_hash
from shared.contracts.fields import OpaqueId
from shared.messaging import make_broker

try:  # a client's data lifecycle runs on scoring's code, absent from the feedback image
    from services.scoring.lifecycle import cli as lifecycle
except ModuleNotFoundError:
    lifecycle = None  # type: ignore[assignment]

DEMO_CLINIC = "demo"
ALL_SCOPES = frozenset(Scope)
MIN_KEY_LENGTH = 16


async def _with_broker(settings: FeedbackSettings, work: Callable[[KafkaBroker], Awaitable[None]]) -> None:
    broker = make_broker(settings, "admin")
    await broker.connect()
    try:
        await work(broker)
    finally:
        await broker.stop()


async def issue_key(
    settings: FeedbackSettings, clinic_id: str, api_key: str, scopes: frozenset[Scope]
) -> str:
    key_id = ""

    async def publish(broker: KafkaBroker) -> None:
        nonlocal key_id
        key_id = await publish_key(broker, clinic_id, api_key, scopes)

    await _with_broker(settings, publish)
    return key_id


async def create_clinic(settings: FeedbackSettings, clinic_id: str) -> tuple[str, str] | None:
    """Give a clinic that has no key yet its first key, with every scope; None if the clinic exists."""
    ring = KeyRing()
    await catch_up(ring, settings.kafka_bootstrap_servers)
    if ring.keys_of(clinic_id):
        return None
    api_key = secrets.token_urlsafe(32)
    return await issue_key(settings, clinic_id, api_key, ALL_SCOPES), api_key


async def _revoke(settings: FeedbackSettings, clinic_id: str, key_id: str) -> bool:
    ring = KeyRing()
    await catch_up(ring, settings.kafka_bootstrap_servers)
    matches = [entry for entry in ring.keys_of(clinic_id) if entry[0].startswith(key_id)]
    if len(matches) != 1:
        return False
    key_hash, scopes, _ = matches[0]

    async def publish(broker: KafkaBroker) -> None:
        await publish_key_hash(broker, clinic_id, key_hash, scopes, revoked=True)

    await _with_broker(settings, publish)
    return True


async def _list(settings: FeedbackSettings, clinic_id: str) -> None:
    ring = KeyRing()
    await catch_up(ring, settings.kafka_bootstrap_servers)
    for key_hash, scopes, revoked in ring.keys_of(clinic_id):
        print(f"{key_hash[:12]}  {','.join(sorted(scopes)):<18} {'revoked' if revoked else 'active'}")


def _clinic_id(parser: argparse.ArgumentParser, value: str) -> str:
    try:
        return TypeAdapter(OpaqueId).validate_python(value)
    except ValidationError:
        parser.error("clinic id: 1-64 characters from letters, digits, '-', '_' and '.'")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="alliance", description="Manage clinics and their API keys; fit the expected trajectories."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser(
        "create-clinic", help="create a clinic: its first key, all scopes (printed once)"
    )
    create.add_argument("clinic_id")
    issue = commands.add_parser("issue-key", help="issue an API key for a clinic (prints it once)")
    issue.add_argument("clinic_id")
    issue.add_argument(
        "--scope", action="append", choices=[s.value for s in Scope], help="repeatable; default all"
    )
    issue.add_argument(
        "--key", help=f"use this key (at least {MIN_KEY_LENGTH} characters) instead of a new random one"
    )
    revoke = commands.add_parser("revoke-key", help="revoke a key by its id (see list-keys)")
    revoke.add_argument("clinic_id")
    revoke.add_argument("key_id")
    listing = commands.add_parser("list-keys", help="list a clinic's keys by id, with scopes and state")
    listing.add_argument("clinic_id")
    commands.add_parser("ensure-demo-clinic", help="give clinic 'demo' the key in DEMO_API_KEY, all scopes")
    fitting = commands.add_parser(
        "fit-trajectories",
        help="fit the expected trajectories now: every clinic, or CLINIC, and the platform",
    )
    fitting.add_argument("clinic_id", nargs="?")
    if lifecycle is not None:
        lifecycle.add_commands(commands)
    args = parser.parse_args(argv)
    if lifecycle is not None and args.command in lifecycle.COMMANDS:
        lifecycle.run_command(parser, args)
        return
    if args.command == "fit-trajectories":
        clinic = None if args.clinic_id is None else _clinic_id(parser, args.clinic_id)
        # Scoring's code, imported only here: the feedback image does not hold it.
        try:
            from services.scoring.fit_trajectories import run
        except ModuleNotFoundError:
            parser.error(
                "fit-trajectories needs the scoring service's code: run it in the scoring container"
                " (docker compose exec scoring alliance fit-trajectories)"
            )
        run(clinic)
        return
    settings = FeedbackSettings()

    if args.command == "ensure-demo-clinic":
        asyncio.run(issue_key(settings, DEMO_CLINIC, settings.demo_api_key, ALL_SCOPES))
        print(f"clinic '{DEMO_CLINIC}' is ready (key from DEMO_API_KEY)")
    elif args.command == "create-clinic":
        clinic_id = _clinic_id(parser, args.clinic_id)
        created = asyncio.run(create_clinic(settings, clinic_id))
        if created is None:
            print(f"clinic '{clinic_id}' already exists; use issue-key for another key", file=sys.stderr)
            sys.exit(1)
        print(f"clinic '{clinic_id}' created; admin key {created[0]} (all scopes):\n{created[1]}")
    elif args.command == "issue-key":
        clinic_id = _clinic_id(parser, args.clinic_id)
        api_key = args.key or secrets.token_urlsafe(32)
        if len(api_key) < MIN_KEY_LENGTH:
            parser.error(f"--key: at least {MIN_KEY_LENGTH} characters")
        scopes = frozenset(Scope(s) for s in args.scope) if args.scope else ALL_SCOPES
        key_id = asyncio.run(issue_key(settings, clinic_id, api_key, scopes))
        print(f"key {key_id} for clinic '{clinic_id}' ({', '.join(sorted(scopes))}):\n{api_key}")
    elif args.command == "revoke-key":
        if not asyncio.run(_revoke(settings, _clinic_id(parser, args.clinic_id), args.key_id)):
            print(
                f"no single key of clinic '{args.clinic_id}' has an id starting with {args.key_id!r}",
                file=sys.stderr,
            )
            sys.exit(1)
        print(f"key {args.key_id} revoked")
    else:
        asyncio.run(_list(settings, _clinic_id(parser, args.clinic_id)))


if __name__ == "__main__":
    main()
