"""Webhook secrets: their two forms, what each signs with, and the rules a rotation follows. Pure.

- **Standard Webhooks** (``whsec_`` + standard, padded base64 of 24–64 bytes): the key is the decoded bytes,
  as every ``standardwebhooks`` library reads it. New secrets take this form.
- **Plain** (any other string of 16–256 characters): what clinics and ``NOTIFY_WEBHOOK_SECRET`` held before.
  The key is the string's UTF-8 bytes; a receiver configures ``whsec_`` + base64 of those bytes
  (``verifier_secret``), which names the same key.

A destination has at most two secrets at once, newest first: every webhook is signed with each, so a receiver
that holds either verifies while it moves from the older to the newer.
"""

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

from pydantic import AfterValidator, Field, ValidationInfo

PREFIX = "whsec_"
KEY_BYTES = (24, 64)
PLAIN_LENGTH = (16, 256)
MOST_AT_ONCE = 2
# The validation context of routings read back from MongoDB: what was accepted once loads as it was stored.
STORED = {"stored": True}


def standard_key(secret: str) -> bytes | None:
    """The key of a well-formed ``whsec_`` secret, or None when ``secret`` is not one."""
    if not secret.startswith(PREFIX):
        return None
    encoded = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        return None
    # Only the canonical encoding: libraries that decode leniently would otherwise read another key.
    if base64.b64encode(key).decode() != encoded or not KEY_BYTES[0] <= len(key) <= KEY_BYTES[1]:
        return None
    return key


def is_standard(secret: str) -> bool:
    return standard_key(secret) is not None


def signing_key(secret: str) -> bytes:
    """The HMAC key the Standard Webhooks signature is made with."""
    return standard_key(secret) or secret.encode()


def verifier_secret(secret: str) -> str:
    """The ``whsec_`` string a receiver gives its ``standardwebhooks`` verifier for ``secret``."""
    return secret if is_standard(secret) else PREFIX + base64.b64encode(secret.encode()).decode()


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` cannot sign webhooks, or None when it can."""
    if secret.startswith(PREFIX):
        if is_standard(secret):
            return None
        return (
            f"a {PREFIX} secret is {PREFIX} followed by the standard base64 (with padding) of "
            f"{KEY_BYTES[0]} to {KEY_BYTES[1]} random bytes"
        )
    if not PLAIN_LENGTH[0] <= len(secret) <= PLAIN_LENGTH[1]:
        return (
            f"a plain secret has {PLAIN_LENGTH[0]} to {PLAIN_LENGTH[1]} characters; "
            f"new secrets should be {PREFIX} secrets"
        )
    return None


def rotation_problem(secrets: Sequence[str]) -> str | None:
    """Why ``secrets`` (newest first) cannot be one destination's secrets, or None when they can."""
    if len(secrets) > MOST_AT_ONCE:
        return f"at most {MOST_AT_ONCE} secrets at once (the newest first, then the one it replaces)"
    if len(set(secrets)) != len(secrets):
        return "the same secret twice"
    if secrets and not is_standard(secrets[0]):
        return (
            f"the newest secret (the first) must be a {PREFIX} secret; a plain one may only follow it, "
            "while receivers move off it"
        )
    return None


T = TypeVar("T")


def _checked_by(problem_of: Callable[[T], str | None]) -> Callable[[T, ValidationInfo], T]:
    """A validator refusing what ``problem_of`` names a problem in; a stored routing loads as it was stored."""

    def checked(value: T, info: ValidationInfo) -> T:
        if info.context == STORED:
            return value
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return checked


_checked = _checked_by(secret_problem)
_checked_rotation = _checked_by(rotation_problem)


WebhookSecret = Annotated[
    str, Field(min_length=PLAIN_LENGTH[0], max_length=PLAIN_LENGTH[1]), AfterValidator(_checked)
]
WebhookSecrets = Annotated[
    list[WebhookSecret],
    AfterValidator(_checked_rotation),
    Field(
        description=(
            f"Sign this destination's webhooks (write-only): up to 2 secrets, newest first. The newest is a "
            f"{PREFIX} secret ({PREFIX} + base64 of {KEY_BYTES[0]}–{KEY_BYTES[1]} random bytes); during a "
            "rotation the second is the one it replaces (which may be a plain secret), and every webhook is "
            "signed with both. Absent or null: the stored secrets stay; []: none of its own."
        ),
        max_length=MOST_AT_ONCE,
        json_schema_extra={"writeOnly": True},
    ),
]
