"""Operator commands: ``alliance ensure-demo-clinic`` and ``alliance issue-key CLINIC KEY``."""

import argparse
import asyncio

from pydantic import TypeAdapter, ValidationError

from services.feedback.clinics import ClinicKeys
from services.feedback.settings import FeedbackSettings
from shared import mongo
from shared.contracts.fields import OpaqueId

KEYS_COLLECTION = "feedback_api_keys"


async def _issue(clinic_id: str, api_key: str) -> None:
    settings = FeedbackSettings()
    client = mongo.connect(settings)
    try:
        await ClinicKeys(mongo.database(client, settings)[KEYS_COLLECTION]).issue(clinic_id, api_key)
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="alliance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ensure-demo-clinic", help="create clinic 'demo' with the key in DEMO_API_KEY")
    issue = commands.add_parser("issue-key", help="register an API key for a clinic")
    issue.add_argument("clinic_id")
    issue.add_argument("api_key")
    args = parser.parse_args(argv)
    if args.command == "ensure-demo-clinic":
        asyncio.run(_issue("demo", FeedbackSettings().demo_api_key))
        print("clinic 'demo' is ready (key from DEMO_API_KEY)")
    else:
        try:
            TypeAdapter(OpaqueId).validate_python(args.clinic_id)
        except ValidationError:
            parser.error("clinic id: 1-64 characters from letters, digits, '-', '_' and '.'")
        if len(args.api_key) < 16:
            parser.error("api key: at least 16 characters")
        asyncio.run(_issue(args.clinic_id, args.api_key))
        print(f"key registered for clinic '{args.clinic_id}'")


if __name__ == "__main__":
    main()
