"""The rating instruments: their items, ranges and totals, and strict validation of scores.

Version 1's instruments ask every item every time. Version 2's rupture report (``psq``) asks one gate question
(``tension``) and its follow-ups only after a "yes": a follow-up is required when the gate is 1 and must be
absent when it is 0, so a report never says "no tension" and "it bothered me very much" at once.

Values are kept as ``Decimal`` so that totals and threshold comparisons are exact: with floats,
9.1 + 8.4 + 8.8 + 8.9 is not 35.2 and a drop of "exactly 1.0" could miss the ``≤`` rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum


class InvalidScores(ValueError):
    """A submission that breaks an instrument's rules. ``problems`` maps each offending field to what is wrong."""

    def __init__(self, subject: str, problems: Mapping[str, str]) -> None:
        self.subject = subject
        self.problems: dict[str, str] = dict(problems)
        super().__init__(
            f"{subject}: " + "; ".join(f"{field}: {why}" for field, why in self.problems.items())
        )

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.problems)


ONE_DECIMAL = Decimal("0.1")
WHOLE = Decimal("1")


class Instrument(Enum):
    SRS = "srs"
    ORS = "ors"
    WAI_SR = "wai_sr"
    PSQ = "psq"
    GBO = "gbo"


class Respondent(Enum):
    CLIENT = "client"
    THERAPIST = "therapist"


class AllianceDimension(Enum):
    BOND = "bond"
    GOAL = "goal"
    TASK = "task"
    GENERAL = "general"


@dataclass(frozen=True)
class InstrumentSpec:
    """What one instrument accepts: items in their canonical order, each within [minimum, maximum] unless
    ``item_ranges`` gives it a range of its own. With a ``gate`` (item, value), every other item is a follow-up,
    asked exactly when the gate item has that value. With ``any_of``, a submission holds any of the items, at
    least one (goals: a rating names only the client's active goals)."""

    instrument: Instrument
    items: tuple[str, ...]
    minimum: Decimal
    maximum: Decimal
    integers_only: bool
    item_ranges: Mapping[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    gate: tuple[str, Decimal] | None = None
    any_of: bool = False

    @property
    def step(self) -> Decimal:
        return WHOLE if self.integers_only else ONE_DECIMAL

    def bounds(self, item: str) -> tuple[Decimal, Decimal]:
        return self.item_ranges.get(item, (self.minimum, self.maximum))

    def asked(self, values: Mapping[str, object]) -> tuple[str, ...]:
        """The items a submission with ``values`` must hold: all of them, or for a gated instrument the gate
        and, when it is open, its follow-ups; for an ``any_of`` instrument, the items it names."""
        if self.any_of:
            return tuple(item for item in self.items if item in values)
        if self.gate is None:
            return self.items
        gate, opening = self.gate
        if values.get(gate) == opening:
            return self.items
        return (gate,)

    @property
    def total_range(self) -> tuple[Decimal, Decimal]:
        return self.minimum * len(self.items), self.maximum * len(self.items)


# How documents for people name each instrument (FHIR Questionnaires, the FHIR export): short name, full name.
NAMES: Mapping[Instrument, tuple[str, str]] = {
    Instrument.SRS: ("SRS", "Session Rating Scale"),
    Instrument.ORS: ("ORS", "Outcome Rating Scale"),
    Instrument.WAI_SR: ("WAI-SR", "Working Alliance Inventory, short revised"),
    Instrument.PSQ: ("PSQ", "Post-session rupture questionnaire"),
    Instrument.GBO: ("GBO", "Goal-Based Outcomes"),
}


def title(instrument: Instrument) -> str:
    """The instrument's full name with its short one, e.g. ``Session Rating Scale (SRS)``."""
    short, full = NAMES[instrument]
    return f"{full} ({short})"


INSTRUMENTS: Mapping[Instrument, InstrumentSpec] = {
    Instrument.SRS: InstrumentSpec(
        Instrument.SRS, ("relationship", "goals", "approach", "overall"), Decimal(0), Decimal(10), False
    ),
    Instrument.ORS: InstrumentSpec(
        Instrument.ORS, ("individual", "interpersonal", "social", "overall"), Decimal(0), Decimal(10), False
    ),
    Instrument.WAI_SR: InstrumentSpec(
        Instrument.WAI_SR, tuple(f"q{i}" for i in range(1, 13)), Decimal(1), Decimal(5), True
    ),
    # tension: 0 no, 1 yes; intensity: 1 it did not bother me at all .. 5 very much; resolution: 1 not at all
    # resolved by the session's end .. 5 completely (DOMAIN.md "Rupture reports from both sides").
    Instrument.PSQ: InstrumentSpec(
        Instrument.PSQ,
        ("tension", "intensity", "resolution"),
        Decimal(1),
        Decimal(5),
        True,
        item_ranges={"tension": (Decimal(0), Decimal(1))},
        gate=("tension", Decimal(1)),
    ),
    # Goal-Based Outcomes (DOMAIN.md version 2): goal_k rates the k-th of the client's active goals, 0 "not at
    # all met" .. 10 "fully met"; a rating names only the goals that are active, so any of the three, one at least.
    Instrument.GBO: InstrumentSpec(
        Instrument.GBO, ("goal_1", "goal_2", "goal_3"), Decimal(0), Decimal(10), True, any_of=True
    ),
}

SRS_ITEM_DIMENSIONS: Mapping[str, AllianceDimension] = {
    "relationship": AllianceDimension.BOND,
    "goals": AllianceDimension.GOAL,
    "approach": AllianceDimension.TASK,
    "overall": AllianceDimension.GENERAL,
}

WAI_SR_SUBSCALES: Mapping[AllianceDimension, tuple[str, ...]] = {
    AllianceDimension.TASK: ("q1", "q2", "q10", "q12"),
    AllianceDimension.BOND: ("q3", "q5", "q7", "q9"),
    AllianceDimension.GOAL: ("q4", "q6", "q8", "q11"),
}


@dataclass(frozen=True)
class Scores:
    """A validated submission of one instrument: every item, in the instrument's order, exactly once."""

    instrument: Instrument
    items: tuple[tuple[str, Decimal], ...]

    def __post_init__(self) -> None:
        # Checked on construction too, so no invalid Scores can exist however it was built.
        spec = INSTRUMENTS[self.instrument]
        given = dict(self.items)
        problems = _problems(spec, given, _judged(spec, given))
        if not problems and tuple(name for name, _ in self.items) != spec.asked(given):
            problems = {"items": "not in the instrument's order"}
        if problems:
            raise InvalidScores(f"invalid {spec.instrument.value} scores", problems)

    @classmethod
    def _checked(cls, instrument: Instrument, items: tuple[tuple[str, Decimal], ...]) -> Scores:
        """Scores that ``validate_scores`` has just checked item by item, in the instrument's order: the same
        checks again in ``__post_init__`` would find nothing and cost as much as the first time (every event
        is validated when it is decoded and again when it becomes a fact)."""
        scores = object.__new__(cls)
        object.__setattr__(scores, "instrument", instrument)
        object.__setattr__(scores, "items", items)
        return scores

    @property
    def total(self) -> Decimal:
        """The sum of the items: the instrument's score for SRS, ORS and WAI-SR (a rupture report and goal
        ratings have none)."""
        return sum((value for _, value in self.items), Decimal(0))

    def get(self, item: str) -> Decimal | None:
        return next((value for name, value in self.items if name == item), None)

    def value(self, item: str) -> Decimal:
        for name, value in self.items:
            if name == item:
                return value
        raise KeyError(item)

    def as_dict(self) -> dict[str, Decimal]:
        return dict(self.items)


def parse_instrument(name: str | Instrument) -> Instrument:
    if isinstance(name, Instrument):
        return name
    try:
        return Instrument(name)
    except ValueError:
        raise InvalidScores("invalid scores", {"instrument": f"unknown instrument {name!r}"}) from None


def parse_respondent(name: str | Respondent) -> Respondent:
    if isinstance(name, Respondent):
        return name
    try:
        return Respondent(name)
    except ValueError:
        raise InvalidScores("invalid scores", {"respondent": f"unknown respondent {name!r}"}) from None


def validate_scores(instrument: str | Instrument, items: Mapping[str, object]) -> Scores:
    """Validate raw item values strictly and return them as ``Scores``; raise ``InvalidScores`` naming every
    offending field as ``items.<name>`` (or ``instrument``)."""
    spec = INSTRUMENTS[parse_instrument(instrument)]
    judged = _judged(spec, items)
    problems = _problems(spec, items, judged)
    if problems:
        raise InvalidScores(f"invalid {spec.instrument.value} scores", problems)
    values = ((name, judged[name]) for name in _asked(spec, judged))
    return Scores._checked(
        spec.instrument, tuple((name, value) for name, value in values if isinstance(value, Decimal))
    )


Judged = Mapping[str, Decimal | str]


def _judged(spec: InstrumentSpec, items: Mapping[str, object]) -> Judged:
    """Each of the instrument's items given: its exact value, or why it is rejected (judged once per call)."""
    return {name: _item_value(raw, spec, name) for name, raw in items.items() if name in spec.items}


def _problems(spec: InstrumentSpec, items: Mapping[str, object], judged: Judged) -> dict[str, str]:
    problems: dict[str, str] = {}
    asked = _asked(spec, judged)
    for name in spec.items:
        if spec.any_of and name not in items:
            continue
        if name not in asked:
            gate = _gate_value(spec, judged)
            if (
                name in items and spec.gate is not None and gate is not None
            ):  # an invalid gate: reported itself
                problems[f"items.{name}"] = f"must be absent when {spec.gate[0]} is {gate}"
            continue
        if name not in items:
            problems[f"items.{name}"] = _missing(spec, name)
            continue
        value = judged[name]
        if isinstance(value, str):
            problems[f"items.{name}"] = value
    for name in sorted(str(key) for key in items if key not in spec.items):
        problems[f"items.{name}"] = "unknown item"
    if spec.any_of and not any(name in items for name in spec.items) and not problems:
        problems["items"] = f"name at least one of {', '.join(spec.items)}"
    return problems


def _asked(spec: InstrumentSpec, judged: Judged) -> tuple[str, ...]:
    if spec.any_of:
        return spec.asked(judged)
    if spec.gate is None:  # every item, every time: nothing to parse first
        return spec.items
    gate = _gate_value(spec, judged)
    return spec.asked({spec.gate[0]: gate} if gate is not None else {})


def _gate_value(spec: InstrumentSpec, judged: Judged) -> Decimal | None:
    """The gate item's valid value, which decides which follow-ups are asked (None without a valid one)."""
    value = judged.get(spec.gate[0]) if spec.gate is not None else None
    return value if isinstance(value, Decimal) else None


def _missing(spec: InstrumentSpec, name: str) -> str:
    if spec.gate is not None and name != spec.gate[0]:
        gate, opening = spec.gate
        return f"required when {gate} is {opening}"
    return "missing"


def _item_value(raw: object, spec: InstrumentSpec, name: str) -> Decimal | str:
    """The item as an exact Decimal, or the reason it is rejected."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
        return "must be a number"
    if isinstance(raw, float):
        if not math.isfinite(raw):
            return "must be finite"
        value = Decimal(repr(raw))  # repr is the shortest exact round-trip: 8.4 -> Decimal("8.4")
    else:
        value = Decimal(raw)
        if not value.is_finite():
            return "must be finite"
    minimum, maximum = spec.bounds(name)
    if not minimum <= value <= maximum:
        return f"out of range {minimum}-{maximum}"
    if spec.integers_only and value != value.to_integral_value():
        return "must be an integer"
    if value != value.quantize(ONE_DECIMAL):
        return "at most one decimal"
    return value.quantize(spec.step)


def srs_dimension(item: str) -> AllianceDimension:
    return SRS_ITEM_DIMENSIONS[item]


def wai_sr_subscales(scores: Scores) -> dict[AllianceDimension, Decimal]:
    """Sum of each WAI-SR subscale (task, bond, goal), each 4–20."""
    if scores.instrument is not Instrument.WAI_SR:
        raise InvalidScores("not wai_sr scores", {"instrument": scores.instrument.value})
    values = scores.as_dict()
    return {
        dimension: sum((values[item] for item in items), Decimal(0))
        for dimension, items in WAI_SR_SUBSCALES.items()
    }
