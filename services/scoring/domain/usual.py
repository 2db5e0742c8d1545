"""The client's usual: the SRS totals a session is compared with, kept clear of rupture episodes.

Version 2.1, rule 1: while an episode is open, the baseline is the one from before it opened, so the
sessions of a rupture do not drag down the level they are judged against (nor the level a repair must come
back to). Two choices where DOMAIN.md leaves room:

- An episode that opened before the client had a baseline of their own (fewer than
  ``baseline_established_after`` totals outside episodes) has no usual to protect: its sessions go on building
  the client's first baseline. Otherwise a client whose first ratings sit below the cutoff could never get one.
  A session with a medium or high change marker (a drop) is never taken for the usual, though.
- The session that closes an episode (repaired or settled) is outside it: it is the client's usual again.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .baseline import mean
from .thresholds import Thresholds


@dataclass(frozen=True)
class Usual:
    """``totals``: the last ≤ ``baseline_window`` client SRS totals of sessions outside episodes, oldest first;
    ``count``: how many such totals the client has had in all (a baseline is established from a few)."""

    totals: tuple[Decimal, ...] = ()
    count: int = 0

    def with_total(self, total: Decimal, thresholds: Thresholds) -> Usual:
        return Usual((*self.totals, total)[-thresholds.baseline_window :], self.count + 1)

    def is_established(self, thresholds: Thresholds) -> bool:
        return self.count >= thresholds.baseline_established_after

    @property
    def mean(self) -> Fraction | None:
        return mean(self.totals) if self.totals else None

    def is_below_cutoff(self, thresholds: Thresholds) -> bool:
        """The client's own usual sits below the population cutoff (rule 2: score markers are low then)."""
        level = self.mean
        return self.is_established(thresholds) and level is not None and level < thresholds.srs_cutoff
