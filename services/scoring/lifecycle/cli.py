"""The ``alliance`` commands of a client's data lifecycle, run with scoring's settings (docs/privacy.md).

The ``alliance`` command of a full install adds them to its own; in the scoring container, where the rest of
``alliance`` is absent, ``python -m services.scoring.lifecycle.cli`` is ``alliance``."""

import argparse
import asyncio
import secrets
import sys
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from services.scoring.lifecycle import commands
from services.scoring.lifecycle.erasure import ClientOnHold, UnknownClient
from shared.contracts.fields import OpaqueId
from shared.privacy.keys import KeyConfigurationError, new_kek

COMMANDS = ("new-kek", "rotate-kek", "erase-client", "export-clinic", "erase-clinic")


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    commands.add_parser("new-kek", help="print a new key-encryption key for ALLIANCE_KEKS")
    commands.add_parser(
        "rotate-kek", help="re-wrap every client's data key with the first KEK of ALLIANCE_KEKS"
    )
    erase = commands.add_parser("erase-client", help="erase everything the platform holds about a client")
    erase.add_argument("clinic_id")
    erase.add_argument("client_id")
    erase.add_argument("--reason", required=True, help="kept in the erasure record")
    export = commands.add_parser(
        "export-clinic", help="write every client's export (JSON, FHIR) and the clinic's settings to DIR"
    )
    export.add_argument("clinic_id")
    export.add_argument("directory")
    leave = commands.add_parser(
        "erase-clinic", help="erase every client, revoke every key and remove the clinic"
    )
    leave.add_argument("clinic_id")
    leave.add_argument("--reason", required=True, help="kept in every erasure record")


def _id(parser: argparse.ArgumentParser, what: str, value: str) -> str:
    try:
        return TypeAdapter(OpaqueId).validate_python(value)
    except ValidationError:
        parser.error(f"{what}: 1-64 characters from letters, digits, '-', '_' and '.'")


def _progress(done: int, total: int) -> None:
    print(f"\rexported {done}/{total} clients", end="" if done < total else "\n", file=sys.stderr, flush=True)


def run_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    try:
        if args.command == "new-kek":
            print(f"k{secrets.token_hex(3)}:{new_kek()}")
        elif args.command == "rotate-kek":
            result = asyncio.run(commands.rotate_kek())
            print(
                f"re-wrapped {result.rewrapped} of {result.total} data keys with the first KEK of ALLIANCE_KEKS"
            )
        elif args.command == "erase-client":
            clinic, client = (
                _id(parser, "clinic id", args.clinic_id),
                _id(parser, "client id", args.client_id),
            )
            record = asyncio.run(commands.erase_client(clinic, client, args.reason))
            print(f"erased: record {record.erasure_id}, client hash {record.client_hash}")
        elif args.command == "export-clinic":
            clinic = _id(parser, "clinic id", args.clinic_id)
            count = asyncio.run(commands.export_clinic(clinic, Path(args.directory), _progress))
            print(f"exported {count} clients of '{clinic}' to {args.directory}")
        elif args.command == "erase-clinic":
            clinic = _id(parser, "clinic id", args.clinic_id)
            erased = asyncio.run(commands.erase_clinic(clinic, args.reason))
            print(f"clinic '{clinic}' erased: {erased.clients} clients, {erased.keys_revoked} keys revoked")
    except UnknownClient:
        sys.exit(f"no client {args.client_id!r} in clinic {args.clinic_id!r}")
    except ClientOnHold as held:
        sys.exit(f"refused, under legal hold: {held}; lift the hold first")
    except KeyConfigurationError as error:
        sys.exit(f"cannot run: {error}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="alliance", description="A client's data lifecycle (docs/privacy.md)."
    )
    add_commands(parser.add_subparsers(dest="command", required=True))
    run_command(parser, parser.parse_args(argv))


if __name__ == "__main__":
    main()
