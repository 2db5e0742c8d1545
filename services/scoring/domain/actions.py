"""What clinicians do to episodes: resolve one by hand (with a note) and acknowledge having seen its alert."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from .errors import DomainError


class InvalidAction(DomainError):
    """A clinician action the domain refuses (no note, naive timestamp, ...)."""


@dataclass(frozen=True)
class ManualResolution:
    """A clinician closed the episode by hand. It takes effect after every session up to ``resolved_at``:
    sessions that happened later are judged with the episode closed."""

    episode_id: str
    resolved_by: str
    resolved_at: datetime
    note: str

    def __post_init__(self) -> None:
        problems = {}
        if not self.note.strip():
            problems["note"] = "a manual resolution needs a note"
        if not self.resolved_by:
            problems["resolved_by"] = "must not be empty"
        if self.resolved_at.utcoffset() is None:
            problems["resolved_at"] = "must carry a UTC offset"
        if problems:
            raise InvalidAction("invalid manual resolution", problems)


@dataclass(frozen=True)
class Acknowledgement:
    """The therapist confirmed the episode's alert was seen. The earliest acknowledgement is the one kept."""

    episode_id: str
    acknowledged_by: str
    acknowledged_at: datetime

    def __post_init__(self) -> None:
        if self.acknowledged_at.utcoffset() is None:
            raise InvalidAction("invalid acknowledgement", {"acknowledged_at": "must carry a UTC offset"})


@dataclass(frozen=True)
class ClinicianActions:
    """All actions taken on one client's episodes, as sets: like facts, their order of arrival is irrelevant."""

    resolutions: frozenset[ManualResolution] = frozenset()
    acknowledgements: frozenset[Acknowledgement] = frozenset()

    def with_resolution(self, resolution: ManualResolution) -> ClinicianActions:
        return replace(self, resolutions=self.resolutions | {resolution})

    def with_acknowledgement(self, acknowledgement: Acknowledgement) -> ClinicianActions:
        return replace(self, acknowledgements=self.acknowledgements | {acknowledgement})
