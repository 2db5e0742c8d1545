"""Event kinds: their versions, topics and upcasters, and the one decoder every consumer uses.

An event kind keeps every published version of its ``data`` model. Old versions are read by upcasting the
``data`` dict step by step (``v1 -> v2 -> ...``) with small pure functions, in the style of the eventsourcing
library's ``upcast_v1_v2``, so a consumer only ever handles the latest version.
"""

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from shared import topics
from shared.contracts.envelope import CloudEvent
from shared.contracts.events import (
    AllianceUpdatedV1,
    ClientErasedV1,
    ClinicKeyV1,
    FeedbackSubmittedV1,
    FeedbackSubmittedV2,
    GoalClosedV1,
    GoalsAgreedV1,
    GoalsAgreedV2,
    NoteAnsweredV1,
    NoteAnsweredV2,
    NoteSharedV1,
    NoteSharedV2,
    NotificationFailedV1,
    NotificationSentV1,
    RuptureAcknowledgedV1,
    RuptureAcknowledgedV2,
    RuptureResolvedV1,
    RuptureResolvedV2,
    RuptureResolvedV3,
    RuptureResolvedV4,
    RuptureResolvedV5,
    RuptureSuspectedV1,
    RuptureSuspectedV2,
    RuptureSuspectedV3,
    RuptureSuspectedV4,
    SessionCompletedV1,
    TrajectoriesFittedV1,
)

TYPE_PREFIX = "org.alliance."
_TYPE_PATTERN = re.compile(r"^org\.alliance\.(?P<name>[a-z_.]+)\.v(?P<version>[1-9][0-9]*)$")
# Events emitted as a consequence of a state change get ids derived from what caused them.
_EVENT_ID_NAMESPACE = uuid.UUID("6f1b7e0e-4c8a-4d55-9a53-2b1e0f3c8d21")

ModelT = TypeVar("ModelT", bound=BaseModel)
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class ContractViolation(ValueError):
    """A message that can never be processed: not JSON, a wrong envelope or body, an unknown type or version."""


@dataclass(frozen=True)
class EventKind(Generic[ModelT]):
    name: str
    topic: topics.Topic  # where the kind is published
    versions: tuple[type[BaseModel], ...]
    # upcasters[i] turns data of version i+1 into data of version i+2.
    upcasters: tuple[Upcaster, ...] = field(default=())
    # Topics the kind was published on before; consumers still read them while they are deprecated.
    former_topics: tuple[topics.Topic, ...] = field(default=())
    # Where the latest version holds a person's words (``Words``): ``comment``, or ``goals.*.text`` for the
    # ``text`` of every goal. The words are sealed there (shared/privacy).
    words: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.upcasters) != len(self.versions) - 1:
            raise ValueError(f"{self.name}: need one upcaster between each pair of versions")

    @property
    def consumed_topics(self) -> tuple[topics.Topic, ...]:
        """Every topic a consumer of this kind reads: where it is published, and where it used to be."""
        return (self.topic, *self.former_topics)

    @property
    def latest_version(self) -> int:
        return len(self.versions)

    @property
    def model(self) -> type[ModelT]:
        return self.versions[-1]  # type: ignore[return-value]

    def type_name(self, version: int | None = None) -> str:
        return f"{TYPE_PREFIX}{self.name}.v{version or self.latest_version}"

    def schema_urn(self, version: int | None = None) -> str:
        return f"urn:alliance:schema:{self.name}.v{version or self.latest_version}"

    def envelope(
        self,
        data: BaseModel,
        *,
        clinic_id: str,
        source: str,
        client_id: str | None = None,
        subject: str | None = None,
        event_id: str | None = None,
        time: datetime | None = None,
    ) -> CloudEvent[Any]:
        """Wrap ``data``; the subject (and so the partition key) is ``clinic_id:client_id`` unless given. Data
        of an older version is wrapped as that version, as a producer still on it would send it."""
        extra: dict[str, Any] = {"time": time} if time is not None else {}
        version = self.versions.index(type(data)) + 1 if type(data) in self.versions else self.latest_version
        model: Any = CloudEvent[self.versions[version - 1]]  # type: ignore[misc]
        event: CloudEvent[Any] = model(
            id=event_id or str(uuid.uuid4()),
            source=source,
            type=self.type_name(version),
            subject=subject or f"{clinic_id}:{client_id}",
            dataschema=self.schema_urn(version),
            clinicid=clinic_id,
            data=data,
            **extra,
        )
        return event

    def decode(self, raw: bytes | str | Mapping[str, Any]) -> CloudEvent[ModelT]:
        """Parse, upcast and validate one message; raise ContractViolation with a reason if impossible."""
        document = json_object(raw)
        version = self._version_of(document.get("type"))
        data = document.get("data")
        if not isinstance(data, dict):
            raise ContractViolation("envelope has no JSON object in 'data'")
        try:
            self.versions[version - 1].model_validate(data)
            for upcast in self.upcasters[version - 1 :]:
                data = upcast(data)
            envelope = {**document, "type": self.type_name(), "data": data}
            return CloudEvent[self.model].model_validate(envelope)  # type: ignore[name-defined]
        except ValidationError as error:
            raise ContractViolation(f"invalid {self.name} v{version}: {_summarise(error)}") from error

    def _version_of(self, type_name: object) -> int:
        match = _TYPE_PATTERN.match(type_name) if isinstance(type_name, str) else None
        if match is None or match["name"] != self.name:
            raise ContractViolation(f"unexpected event type {type_name!r} on topic {self.topic.name}")
        version = int(match["version"])
        if version > self.latest_version:
            raise ContractViolation(f"unknown version v{version} of {self.name}")
        return version


def derived_event_id(*parts: str) -> str:
    """A deterministic event id, so re-emitting the same consequence can never invent a second event."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, "\x1f".join(parts)))


def encode(event: CloudEvent[Any]) -> bytes:
    return event.model_dump_json(exclude_none=True).encode()


def json_object(raw: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` read as one JSON object; anything else is a contract violation that names the problem."""
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ContractViolation(f"not JSON: {error}") from error
    if not isinstance(document, dict):
        raise ContractViolation("not a JSON object")
    return document


def _summarise(error: ValidationError) -> str:
    # Location and message only: pydantic's default text repeats the input, which may hold a client's comment.
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}" for item in error.errors()
    )


# A client's history travels on one topic, in the order it was produced (shared/topics.py, CLIENT_EVENTS).
def words_in_clear(*paths: str) -> Upcaster:
    """The upcaster to the version that seals ``paths``: the words an older version carried in the clear are
    marked ``clear:``, and the first service that stores the event seals them (shared/privacy)."""

    def upcast(data: dict[str, Any]) -> dict[str, Any]:
        return map_words(data, paths, lambda text: f"clear:{text}")

    upcast.__doc__ = (
        f"Words at {', '.join(paths)} in the clear become ``clear:`` words, to be sealed on storing."
    )
    return upcast


def map_words(data: dict[str, Any], paths: tuple[str, ...], change: Callable[[str], str]) -> dict[str, Any]:
    """A copy of ``data`` with ``change`` applied to the words at each of ``paths`` (``a.*.b``: ``b`` in every
    item of list ``a``); an absent or null field is left as it is."""

    def walk(node: Any, steps: list[str]) -> Any:
        if not steps:
            return change(node) if isinstance(node, str) else node
        step, rest = steps[0], steps[1:]
        if step == "*":
            return [walk(item, rest) for item in node] if isinstance(node, list) else node
        if isinstance(node, dict) and node.get(step) is not None:
            return {**node, step: walk(node[step], rest)}
        return node

    for path in paths:
        data = walk(data, path.split("."))
    return data


# A client's history travels on one topic, in the order it was produced (shared/topics.py, CLIENT_EVENTS).
SESSION_COMPLETED: EventKind[SessionCompletedV1] = EventKind(
    "session.completed",
    topics.CLIENT_EVENTS,
    (SessionCompletedV1,),
    former_topics=(topics.SESSION_COMPLETED,),
)
FEEDBACK_SUBMITTED: EventKind[FeedbackSubmittedV2] = EventKind(
    "feedback.submitted",
    topics.CLIENT_EVENTS,
    (FeedbackSubmittedV1, FeedbackSubmittedV2),
    (words_in_clear("comment"),),
    former_topics=(topics.FEEDBACK_SUBMITTED,),
    words=("comment",),
)
NOTE_SHARED: EventKind[NoteSharedV2] = EventKind(
    "note.shared",
    topics.CLIENT_EVENTS,
    (NoteSharedV1, NoteSharedV2),
    (words_in_clear("text"),),
    words=("text",),
)
NOTE_ANSWERED: EventKind[NoteAnsweredV2] = EventKind(
    "note.answered",
    topics.CLIENT_EVENTS,
    (NoteAnsweredV1, NoteAnsweredV2),
    (words_in_clear("comment"),),
    words=("comment",),
)
GOALS_AGREED: EventKind[GoalsAgreedV2] = EventKind(
    "goals.agreed",
    topics.CLIENT_EVENTS,
    (GoalsAgreedV1, GoalsAgreedV2),
    (words_in_clear("goals.*.text"),),
    words=("goals.*.text",),
)
GOAL_CLOSED: EventKind[GoalClosedV1] = EventKind("goal.closed", topics.CLIENT_EVENTS, (GoalClosedV1,))


def upcast_rupture_suspected_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 alerts were all pushed: none was from history."""
    return {**data, "from_history": False}


def upcast_rupture_suspected_v2_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Before rupture reports nobody could say they saw a rupture: every v2 alert was recognised by neither."""
    return {**data, "recognised_by": "neither"}


def upcast_rupture_suspected_v3_v4(data: dict[str, Any]) -> dict[str, Any]:
    """v4 only lets a marker carry an expected change and a model version: every v3 body is a v4 body."""
    return dict(data)


def upcast_rupture_resolved_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 never said who resolved."""
    return {**data, "resolved_by": None}


def upcast_rupture_resolved_v2_v3(data: dict[str, Any]) -> dict[str, Any]:
    """v3 only widens ``how`` (adds ``settled``): every v2 body is a v3 body."""
    return dict(data)


def upcast_untagged(data: dict[str, Any]) -> dict[str, Any]:
    """Before the 3RS tags nobody named a rupture or its repair: an untagged body, as it was."""
    return dict(data)


RUPTURE_SUSPECTED: EventKind[RuptureSuspectedV4] = EventKind(
    "rupture.suspected",
    topics.RUPTURE_SUSPECTED,
    (RuptureSuspectedV1, RuptureSuspectedV2, RuptureSuspectedV3, RuptureSuspectedV4),
    (upcast_rupture_suspected_v1_v2, upcast_rupture_suspected_v2_v3, upcast_rupture_suspected_v3_v4),
)
RUPTURE_RESOLVED: EventKind[RuptureResolvedV5] = EventKind(
    "rupture.resolved",
    topics.RUPTURE_RESOLVED,
    (RuptureResolvedV1, RuptureResolvedV2, RuptureResolvedV3, RuptureResolvedV4, RuptureResolvedV5),
    (upcast_rupture_resolved_v1_v2, upcast_rupture_resolved_v2_v3, upcast_untagged, words_in_clear("note")),
    words=("note",),
)
RUPTURE_ACKNOWLEDGED: EventKind[RuptureAcknowledgedV2] = EventKind(
    "rupture.acknowledged",
    topics.RUPTURE_ACKNOWLEDGED,
    (RuptureAcknowledgedV1, RuptureAcknowledgedV2),
    (upcast_untagged,),
)
NOTIFICATION_SENT: EventKind[NotificationSentV1] = EventKind(
    "notification.sent", topics.NOTIFICATION_SENT, (NotificationSentV1,)
)
NOTIFICATION_FAILED: EventKind[NotificationFailedV1] = EventKind(
    "notification.failed", topics.NOTIFICATION_FAILED, (NotificationFailedV1,)
)

CLINIC_KEY: EventKind[ClinicKeyV1] = EventKind("clinic.key", topics.CLINIC_KEYS, (ClinicKeyV1,))
CLIENT_ERASED: EventKind[ClientErasedV1] = EventKind("client.erased", topics.CLIENT_ERASED, (ClientErasedV1,))
ALLIANCE_UPDATED: EventKind[AllianceUpdatedV1] = EventKind(
    "alliance.updated", topics.ALLIANCE_UPDATED, (AllianceUpdatedV1,)
)
TRAJECTORIES_FITTED: EventKind[TrajectoriesFittedV1] = EventKind(
    "trajectories.fitted", topics.TRAJECTORIES_FITTED, (TrajectoriesFittedV1,)
)

# The kinds a client's history is made of, on ``client.events``: what scoring reads as facts (live and in a
# replay). A new kind of client event is added here once.
CLIENT_HISTORY: tuple[EventKind[Any], ...] = (
    SESSION_COMPLETED,
    FEEDBACK_SUBMITTED,
    NOTE_SHARED,
    NOTE_ANSWERED,
    GOALS_AGREED,
    GOAL_CLOSED,
)

ALL_KINDS: tuple[EventKind[Any], ...] = (
    *CLIENT_HISTORY,
    RUPTURE_SUSPECTED,
    RUPTURE_RESOLVED,
    RUPTURE_ACKNOWLEDGED,
    CLINIC_KEY,
    CLIENT_ERASED,
    ALLIANCE_UPDATED,
    TRAJECTORIES_FITTED,
    NOTIFICATION_SENT,
    NOTIFICATION_FAILED,
)
