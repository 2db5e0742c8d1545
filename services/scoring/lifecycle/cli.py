"""The ``alliance`` commands of a client's data lifecycle, run with scoring's settings (docs/privacy.md)."""

import argparse
import asyncio
import sys
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from services.scoring.lifecycle import commands
from services.scoring.lifecycle.erasure import ClientOnHold, UnknownClient
from shared.contracts.fields import OpaqueId
from shared.privacy.keys import KeyConfigurationError


def _id(parser: argparse.ArgumentParser, what: str, value: str) -> str:
    try:
        return TypeAdapter(OpaqueId).validate_python(value)
    except ValidationError:
        parser.error(f"{what}: 1-64 characters from letters, digits, '-', '_' and '.'")


def _progress(done: int, total: int) -> None:
    print(f"\rexported {done}/{total} clients", end="" if done < total else "\n", file=sys.stderr, flush=True)


def run_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    try:
        if args.command == "rotate-kek":
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
