"""Clinic API keys as every service sees them, and the FastAPI dependency that checks them.

Keys are issued and revoked by publishing ``clinic.key`` events on the compacted topic ``clinic.keys``
(record key = the key's hash, so compaction keeps each key's latest state). Every service that checks keys
keeps its own in-memory ``KeyRing`` fed from that topic: no service reads another's collections, and a
revocation reaches all of them within moments. Only SHA-256 hashes of keys ever leave the operator's hands.
"""

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False, description="The clinic's API key: `Authorization: Bearer <key>`.")


class Scope(StrEnum):
    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"


@dataclass(frozen=True)
class ClinicPrincipal:
    """Who is calling: a clinic, through one of its keys (named by a short prefix of the key's hash)."""

    clinic_id: str
    key_id: str
    scopes: frozenset[Scope]


def hash_key(api_key: str) -> str:
    # API keys are long random secrets, so a fast hash suffices: there is nothing to brute-force.
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(frozen=True)
class _StoredKey:
    clinic_id: str
    scopes: frozenset[Scope]
    revoked: bool


class KeyRing:
    """The latest known state of every key, by hash."""

    def __init__(self) -> None:
        self._keys: dict[str, _StoredKey] = {}

    def apply(self, key_hash: str, clinic_id: str, scopes: frozenset[Scope], revoked: bool) -> None:
        known = self._keys.get(key_hash)
        if known is not None and known.clinic_id != clinic_id:
            return  # a key never moves to another clinic, whatever a later record claims
        self._keys[key_hash] = _StoredKey(clinic_id, scopes, revoked)

    def keys_of(self, clinic_id: str) -> list[tuple[str, frozenset[Scope], bool]]:
        """(key hash, scopes, revoked) of every key the clinic has had."""
        return sorted(
            (key_hash, stored.scopes, stored.revoked)
            for key_hash, stored in self._keys.items()
            if stored.clinic_id == clinic_id
        )

    def authenticate(self, api_key: str) -> ClinicPrincipal | None:
        key_hash = hash_key(api_key)
        stored = self._keys.get(key_hash)
        if stored is None or stored.revoked:
            return None
        return ClinicPrincipal(stored.clinic_id, key_hash[:12], stored.scopes)


def require_scope(*scopes: Scope) -> Callable[..., Awaitable[ClinicPrincipal]]:
    """A FastAPI dependency: the calling clinic, whose key must be valid and carry one of ``scopes``.

    401 for a missing, unknown or revoked key; 403 for a valid key with none of them. The app keeps its
    ``KeyRing`` in ``app.state.key_ring``.
    """
    wanted = frozenset(scopes)
    refusal = (
        f"this key lacks the '{scopes[0]}' scope"
        if len(scopes) == 1
        else "this key needs the " + " or ".join(f"'{scope}'" for scope in scopes) + " scope"
    )

    async def principal(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> ClinicPrincipal:
        ring: KeyRing = request.app.state.key_ring
        found = ring.authenticate(credentials.credentials) if credentials else None
        if found is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing, unknown or revoked API key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not found.scopes & wanted:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=refusal)
        return found

    return principal
