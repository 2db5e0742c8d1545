"""Signed, self-expiring tokens: a small pydantic model sealed with itsdangerous into a URL-safe string.

The token is the whole state of what it grants, so issuing one stores nothing. Each kind of token has a salt of
its own, so a token of one kind never opens as another even under the same secret.
"""

from datetime import UTC, datetime
from typing import Generic, TypeVar

from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.contracts.fields import Timestamp


class TokenTampered(Exception):
    """Not a token signed here (altered, truncated, of another kind, or signed with another secret)."""


class TokenExpired(Exception):
    pass


class Expiring(BaseModel):
    """What every token carries: when it stops opening."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    expires_at: Timestamp


M = TypeVar("M", bound=Expiring)


class Sealer(Generic[M]):
    def __init__(self, model: type[M], secret: str, salt: str) -> None:
        self._model = model
        self._serializer = URLSafeSerializer(secret, salt=salt)

    def seal(self, value: M) -> str:
        token: str = self._serializer.dumps(value.model_dump(mode="json", exclude_none=True))
        return token

    def open(self, token: str, now: datetime | None = None) -> M:
        try:
            value = self._model.model_validate(self._serializer.loads(token))
        except (BadSignature, ValidationError, ValueError, TypeError):
            raise TokenTampered from None
        if value.expires_at <= (now or datetime.now(UTC)):
            raise TokenExpired
        return value
