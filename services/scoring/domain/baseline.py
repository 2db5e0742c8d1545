"""A client's own baseline: exact mean, sample variance and slope of SRS totals.

Comparisons use ``Fraction`` so a total exactly on a bound is judged exactly; values shown to people
(baselines, bounds, slopes) are rounded to two decimals only at the end.
"""

from __future__ import annotations

import functools
import math
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
def _mean(values: tuple[Decimal, ...]) -> Fraction:
    scaled, scale = _scaled(values)
    return Fraction(sum(scaled), len(values) * scale)


@functools.lru_cache(maxsize=8192)
def _slope(values: tuple[Decimal, ...]) -> Fraction:
    # Σ(x-x̄)(y-ȳ) / Σ(x-x̄)² = (nΣxy - ΣxΣy) / (nΣx² - (Σx)²) for x = 0..n-1: the same exact value as
    # ``_slope_of``, in integers (Fraction arithmetic per pair dominated the profile).
    scaled, scale = _scaled(values)
    n = len(values)
    sum_x, sum_xx = n * (n - 1) // 2, (n - 1) * n * (2 * n - 1) // 6
    sum_xy = sum(x * y for x, y in enumerate(scaled))
    return Fraction(n * sum_xy - sum_x * sum(scaled), (n * sum_xx - sum_x * sum_x) * scale)


@functools.lru_cache(maxsize=8192)
def _sample_variance(values: tuple[Decimal, ...]) -> Fraction:
    # Σ(y-ȳ)² / (n-1) = (nΣy² - (Σy)²) / (n(n-1)), exactly, in integers.
    scaled, scale = _scaled(values)
    n, total = len(values), sum(scaled)
    return Fraction(n * sum(y * y for y in scaled) - total * total, n * (n - 1) * scale * scale)


def _scaled(values: tuple[Decimal, ...]) -> tuple[list[int], int]:
    """The values as integers over one common denominator: ``values[i] == scaled[i] / scale`` exactly."""
    ratios = [v.as_integer_ratio() for v in values]
    scale = math.lcm(*(denominator for _, denominator in ratios))
    return [numerator * (scale // denominator) for numerator, denominator in ratios], scale


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
