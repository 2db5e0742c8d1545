"""Severity of a suspected rupture, and the DOMAIN.md rule that grades a session's markers."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from enum import Enum
from typing import Protocol


class Severity(Enum):
    """Ordered: NONE < LOW < MEDIUM < HIGH. The value is the wire spelling."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank


_RANKS = {Severity.NONE: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}


class Graded(Protocol):
    """Anything with a level and a family, i.e. a marker."""

    @property
    def level(self) -> Severity: ...

    @property
    def family(self) -> Hashable: ...


def severity_of(markers: Iterable[Graded]) -> Severity:
    """High if any high marker, or medium markers from two or more families; medium if any medium marker;
    low if only low markers; none without markers."""
    levels: list[Severity] = []
    medium_families: set[Hashable] = set()
    for marker in markers:
        levels.append(marker.level)
        if marker.level is Severity.MEDIUM:
            medium_families.add(marker.family)
    if not levels:
        return Severity.NONE
    if Severity.HIGH in levels or len(medium_families) >= 2:
        return Severity.HIGH
    if Severity.MEDIUM in levels:
        return Severity.MEDIUM
    return Severity.LOW
