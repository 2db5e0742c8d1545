"""The rating instruments of version 1 and the strict validation of their items.

Every score is checked here once, at the edge, so nothing downstream ever sees an unknown instrument, a
missing or extra item, a value out of range, NaN or infinity, or more than one decimal.
"""

import math
from dataclasses import dataclass
from enum import StrEnum


class Instrument(StrEnum):
    SRS = "srs"
    ORS = "ors"
    WAI_SR = "wai_sr"


class Respondent(StrEnum):
    CLIENT = "client"
    THERAPIST = "therapist"


@dataclass(frozen=True)
class InstrumentSpec:
    items: tuple[str, ...]
    minimum: float
    maximum: float
    integers_only: bool

    @property
    def total_range(self) -> tuple[float, float]:
        return self.minimum * len(self.items), self.maximum * len(self.items)


SPECS: dict[Instrument, InstrumentSpec] = {
    Instrument.SRS: InstrumentSpec(("relationship", "goals", "approach", "overall"), 0.0, 10.0, False),
    Instrument.ORS: InstrumentSpec(("individual", "interpersonal", "social", "overall"), 0.0, 10.0, False),
    Instrument.WAI_SR: InstrumentSpec(tuple(f"q{i}" for i in range(1, 13)), 1, 5, True),
}


def item_errors(instrument: Instrument, items: dict[str, float]) -> list[str]:
    """Every problem with ``items`` for ``instrument``, one message each, naming the item."""
    spec = SPECS[instrument]
    errors = [f"missing item '{name}'" for name in spec.items if name not in items]
    errors += [f"unknown item '{name}' for {instrument.value}" for name in items if name not in spec.items]
    for name, value in items.items():
        if name not in spec.items:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            errors.append(f"item '{name}' must be a finite number")
        elif not spec.minimum <= value <= spec.maximum:
            errors.append(f"item '{name}' must be between {spec.minimum:g} and {spec.maximum:g}")
        elif spec.integers_only and value != int(value):
            errors.append(f"item '{name}' must be a whole number")
        elif round(value, 1) != value:
            errors.append(f"item '{name}' has more than one decimal")
    return errors


def total(instrument: Instrument, items: dict[str, float]) -> float:
    """The instrument's total score, rounded to one decimal to avoid float dust (8.4 + 8.8 ...)."""
    return round(sum(items[name] for name in SPECS[instrument].items), 1)
