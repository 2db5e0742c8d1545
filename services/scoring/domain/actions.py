"""What clinicians do to episodes: resolve one by hand (with a note) and acknowledge having seen its alert,
either of them naming the rupture and its repair (the 3RS tags of DOMAIN.md version 2)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from shared.repair import RepairStrategy, RuptureType

from .errors import DomainError


@dataclass(frozen=True)
class RepairTags:
    """How a clinician named a rupture (its type) and its repair (the strategies used); both optional."""

    rupture_type: RuptureType | None = None
    strategies: tuple[RepairStrategy, ...] = ()

    def __post_init__(self) -> None:
        # One order whatever the order given: two taggings with the same strategies are the same tags.
        ordered = tuple(s for s in RepairStrategy if s in self.strategies)
        object.__setattr__(self, "strategies", ordered)

    def then(self, later: RepairTags) -> RepairTags:
        """These tags with what a later action added: its type if it names one; the strategies of both."""
        return RepairTags(later.rupture_type or self.rupture_type, (*self.strategies, *later.strategies))


UNTAGGED = RepairTags()


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
    tags: RepairTags = field(default=UNTAGGED, compare=False)

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
    tags: RepairTags = field(default=UNTAGGED, compare=False)

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
