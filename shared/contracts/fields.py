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
