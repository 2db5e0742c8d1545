"""A client's own baseline: exact mean, sample variance and slope of SRS totals.

Comparisons use ``Fraction`` so a total exactly on a bound is judged exactly; values shown to people
(baselines, bounds, slopes) are rounded to two decimals only at the end.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

SHOWN = Decimal("0.01")


def shown(value: Fraction | Decimal) -> Decimal:
    """A value for display: two decimals, half-even."""
    if isinstance(value, Fraction):
        value = _decimal(value)
    return value.quantize(SHOWN, rounding=ROUND_HALF_EVEN)


def mean(values: Sequence[Decimal]) -> Fraction:
    if not values:
        raise ValueError("mean of no values")
    if _cacheable(values):
        return _mean(tuple(values))
    return sum((Fraction(v) for v in values), Fraction(0)) / len(values)


def sample_variance(values: Sequence[Decimal]) -> Fraction:
    """Sample variance (n - 1 in the denominator), as DOMAIN.md asks for the sd."""
    if len(values) < 2:
        raise ValueError("sample variance needs at least two values")
    if _cacheable(values):
        return _sample_variance(tuple(values))
    centre = mean(values)
    return sum(((Fraction(v) - centre) ** 2 for v in values), Fraction(0)) / (len(values) - 1)


# Exact arithmetic is slow and every re-assessment of a client recomputes the same windows of totals: the
# pure results are memoised (equal Decimals give equal Fractions, so a hit is exactly the computed value).
def _cacheable(values: Sequence[Decimal]) -> bool:
    return all(isinstance(v, Decimal) and v.is_finite() for v in values)


@functools.lru_cache(maxsize=8192)
def _fraction(value: Decimal) -> Fraction:
    return Fraction(value)


@functools.lru_cache(maxsize=8192)
def _mean(values: tuple[Decimal, ...]) -> Fraction:
    return sum((_fraction(v) for v in values), Fraction(0)) / len(values)


@functools.lru_cache(maxsize=8192)
def _slope(values: tuple[Decimal, ...]) -> Fraction:
    return _slope_of(values)


@functools.lru_cache(maxsize=8192)
def _sample_variance(values: tuple[Decimal, ...]) -> Fraction:
    centre = _mean(values)
    return sum(((_fraction(v) - centre) ** 2 for v in values), Fraction(0)) / (len(values) - 1)


def slope(values: Sequence[Decimal]) -> Fraction | None:
    """Least-squares slope of values against their position (points per session); None under two values."""
    if len(values) < 2:
        return None
    if _cacheable(values):
        return _slope(tuple(values))
    return _slope_of(values)


def _slope_of(values: Sequence[Decimal]) -> Fraction:
    x_centre = Fraction(len(values) - 1, 2)
    y_centre = mean(values)
    pairs = [(Fraction(x) - x_centre, Fraction(y) - y_centre) for x, y in enumerate(values)]
    return sum((dx * dy for dx, dy in pairs), Fraction(0)) / sum((dx * dx for dx, _ in pairs), Fraction(0))


@dataclass(frozen=True)
class BaselineBound:
    """``mean - max(min_drop, factor * sd)`` of the earlier totals: a total strictly below it is a drop."""

    mean: Fraction
    variance: Fraction
    min_drop: Fraction
    sd_factor: Fraction

    @classmethod
    def of(cls, earlier: Sequence[Decimal], min_drop: Decimal, sd_factor: Decimal) -> BaselineBound:
        return cls(mean(earlier), sample_variance(earlier), Fraction(min_drop), Fraction(sd_factor))

    def is_below(self, total: Decimal) -> bool:
        """Exactly ``total < mean - max(min_drop, factor * sd)``, with no irrational sqrt: for a gap
        d = mean - total > 0, factor * sd < d  <=>  factor² * variance < d²."""
        gap = self.mean - Fraction(total)
        return gap > self.min_drop and gap > 0 and self.sd_factor**2 * self.variance < gap**2

    @property
    def shown(self) -> Decimal:
        sd = _decimal(self.variance).sqrt()
        return shown(_decimal(self.mean) - max(_decimal(self.min_drop), _decimal(self.sd_factor) * sd))


def _decimal(value: Fraction) -> Decimal:
    """At full context precision; rounding for display happens once, at the end."""
    return Decimal(value.numerator) / Decimal(value.denominator)
