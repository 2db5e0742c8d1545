"""Sealing and opening a person's words (``Words`` in the contracts) with their client's data key.

A sealed value is ``aesgcm:<event id>:<nonce ‖ ciphertext ‖ tag>`` (base64url): AES-256-GCM, with the clinic,
the client and the event id as associated data, so words moved to another client or event do not open. The
event id travels in the value so that any view can open it without knowing which event the words came from.
"""

import base64
import dataclasses
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel

from shared.contracts import CloudEvent, EventKind, map_words
from shared.privacy.keys import NONCE_BYTES, DataKeys

SEALED = "aesgcm:"
CLEAR = "clear:"
UNREADABLE = "[unreadable]"  # shown where words cannot be opened: their key was shredded, or they were moved
T = TypeVar("T")


class WordsUnreadable(ValueError):
    """The words do not open with this client's key."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _context(clinic_id: str, client_id: str, event_id: str) -> bytes:
    return "\x1f".join((clinic_id, client_id, event_id)).encode()


def seal(data_key: bytes, clinic_id: str, client_id: str, event_id: str, text: str) -> str:
    """Deterministic: the same words of the same event seal to the same value (the nonce is an HMAC of them
    under the data key, a synthetic IV), so an event sealed twice (a redelivery, a client's retry) is still
    one event to every consumer's deduplication. Equal values reveal only that one event's words are equal."""
    context = _context(clinic_id, client_id, event_id)
    nonce = hmac.new(data_key, context + b"\x00" + text.encode(), hashlib.sha256).digest()[:NONCE_BYTES]
    sealed = AESGCM(data_key).encrypt(nonce, text.encode(), context)
    return f"{SEALED}{_b64(event_id.encode())}:{_b64(nonce + sealed)}"


def open_words(data_key: bytes | None, clinic_id: str, client_id: str, value: str) -> str:
    """The words of a ``Words`` value; WordsUnreadable if they do not open with ``data_key``."""
    if value.startswith(CLEAR):
        return value[len(CLEAR) :]
    if not value.startswith(SEALED):
        raise WordsUnreadable("not a Words value")
    if data_key is None:
        raise WordsUnreadable("the client has no data key")
    encoded_id, _, encoded = value[len(SEALED) :].partition(":")
    try:
        event_id, raw = _unb64(encoded_id).decode(), _unb64(encoded)
        context = _context(clinic_id, client_id, event_id)
        return AESGCM(data_key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context).decode()
    except (InvalidTag, ValueError) as error:
        raise WordsUnreadable("the words do not open with this client's key") from error


def words_in(node: Any, paths: tuple[str, ...]) -> list[str]:
    """The values at ``paths`` (as ``EventKind.words`` names them) of a model or a dict."""

    def walk(node: Any, steps: list[str]) -> list[str]:
        if not steps:
            return [node] if isinstance(node, str) else []
        step, rest = steps[0], steps[1:]
        if step == "*":
            return [value for item in node for value in walk(item, rest)] if isinstance(node, list) else []
        child = node.get(step) if isinstance(node, Mapping) else getattr(node, step, None)
        return [] if child is None else walk(child, rest)

    return [value for path in paths for value in walk(node, path.split("."))]


def is_words(value: object) -> bool:
    return isinstance(value, str) and (value.startswith(SEALED) or value.startswith(CLEAR))


class Words:
    """Seals and opens the words of one deployment's clients (their data keys in ``keys``)."""

    def __init__(self, keys: DataKeys) -> None:
        self.keys = keys

    async def seal(self, clinic_id: str, client_id: str, event_id: str, text: str | None) -> str | None:
        if text is None:
            return None
        return seal(await self.keys.key_for(clinic_id, client_id), clinic_id, client_id, event_id, text)

    async def sealed(
        self,
        kind: EventKind[Any],
        clinic_id: str,
        client_id: str,
        event_id: str,
        data: BaseModel | Mapping[str, Any],
    ) -> Any:
        """``data`` (any version's body, words in the clear) as the latest version of ``kind``, words sealed
        for event ``event_id``: what a service that receives words publishes."""
        body = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
        if words_in(body, kind.words):  # no words, no data key: most ratings come without a comment
            data_key = await self.keys.key_for(clinic_id, client_id)
            body = map_words(
                body, kind.words, lambda text: seal(data_key, clinic_id, client_id, event_id, text)
            )
        return kind.model.model_validate(body)

    async def seal_event(self, kind: EventKind[Any], event: CloudEvent[Any]) -> CloudEvent[Any]:
        """``event`` with any ``clear:`` words sealed (an event upcast from a version without sealing, or
        produced straight to Kafka): what a service stores must never hold words in the clear."""
        if not kind.words:
            return event
        if event.type != kind.type_name():  # an older version, built in this process: read it as the latest
            event = kind.decode(event.model_dump(mode="json"))
        if not any(value.startswith(CLEAR) for value in words_in(event.data, kind.words)):
            return event  # the common case, checked without copying the event
        data = event.data.model_dump(mode="json")
        clinic_id, client_id = event.clinicid, data["client_id"]
        data_key = await self.keys.key_for(clinic_id, client_id)

        def sealed(value: str) -> str:
            if not value.startswith(CLEAR):
                return value
            return seal(data_key, clinic_id, client_id, event.id, value[len(CLEAR) :])

        sealed_data = type(event.data).model_validate(map_words(data, kind.words, sealed))
        return event.model_copy(update={"data": sealed_data})

    async def open_all(self, clinic_id: str, client_id: str, tree: T) -> T:
        """``tree`` (JSON-like values or a pydantic model) with every ``Words`` value opened; words that no
        longer open read ``[unreadable]``."""
        data_key = await self.keys.find(clinic_id, client_id)

        def opened(node: Any) -> Any:
            if is_words(node):
                try:
                    return open_words(data_key, clinic_id, client_id, node)
                except WordsUnreadable:
                    return UNREADABLE
            if isinstance(node, BaseModel):
                return node.model_copy(
                    update={name: opened(getattr(node, name)) for name in type(node).model_fields}
                )
            if dataclasses.is_dataclass(node) and not isinstance(node, type):
                changes = {f.name: opened(getattr(node, f.name)) for f in dataclasses.fields(node) if f.init}
                return dataclasses.replace(node, **changes)
            if isinstance(node, Mapping):
                return {key: opened(value) for key, value in node.items()}
            if isinstance(node, list | tuple):
                return type(node)(opened(item) for item in node)
            return node

        return opened(tree)  # type: ignore[no-any-return]
