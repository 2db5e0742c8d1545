"""Domain errors: every rejection names the field(s) at fault, so an adapter can report them as-is."""

from __future__ import annotations

from collections.abc import Mapping

from shared.instruments import InvalidScores

__all__ = ["ConflictingFact", "DomainError", "InvalidFact", "InvalidScores", "InvalidThresholds"]


class DomainError(ValueError):
    """A fact or setting the domain refuses. ``problems`` maps each offending field to what is wrong."""

    def __init__(self, subject: str, problems: Mapping[str, str]) -> None:
        self.subject = subject
        self.problems: dict[str, str] = dict(problems)
        detail = "; ".join(f"{field}: {why}" for field, why in self.problems.items())
        super().__init__(f"{subject}: {detail}")

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.problems)


class InvalidThresholds(DomainError):
    """Clinic settings that cannot be used (negative, out of scale, inconsistent)."""


class InvalidFact(DomainError):
    """A fact that cannot belong to this history (another client, a naive timestamp, ...)."""


class ConflictingFact(DomainError):
    """The same event id arrived twice with different content: upstream broke id uniqueness."""
