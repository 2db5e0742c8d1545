"""Field types every contract shares: opaque ids and timestamps with an offset."""

from typing import Annotated

from pydantic import AwareDatetime, Field

# Opaque pseudonyms chosen by the clinic's systems. The narrow alphabet also keeps MongoDB operator syntax
# (`$`), dots-only tricks aside, and control characters out of every id.
OpaqueId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="Opaque id: 1-64 characters from letters, digits, '-', '_' and '.'.",
        examples=["c-311"],
    ),
]

Timestamp = Annotated[
    AwareDatetime,
    Field(description="RFC 3339 timestamp with an offset.", examples=["2026-11-20T10:00:00+00:00"]),
]

# Words a person wrote (comments, notes, goals) as they travel and rest: sealed with the client's data key
# by the service that received them (``aesgcm:<event id, base64url>:<nonce, ciphertext and tag, base64url>``;
# docs/privacy.md). ``clear:<text>`` appears only in an event upcast from a version that carried words in the
# clear; the first service that stores such an event seals them.
Words = Annotated[
    str,
    Field(
        max_length=12_000,
        pattern=r"^(aesgcm:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+|clear:[\s\S]*)$",
        description=(
            "A person's words, sealed with the client's data key by the service that received them"
            " (`aesgcm:...`); readable only through the platform's views and export."
        ),
    ),
]
