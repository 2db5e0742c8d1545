"""The budget across a grid of the population's parameters, not only at one point and one seed.

Each cell of the grid (mean SRS × within-client SD, every other parameter at its value) is run at several
seeds; the cell's figures are computed over the clients of all its seeds together (more ruptures behind each
share than one seed has), and each seed's own figures are kept too, to show how much one seed varies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from services.scoring.domain import Thresholds

from .figures import FIGURES, Figure, measure
from .population import Parameters, generate
from .replay import ClientOutcome, replay_population


@dataclass(frozen=True)
class Cell:
    srs_mean: float
    srs_within_sd: float
    pooled: dict[str, float]  # over the clients of every seed
    by_seed: dict[int, dict[str, float]]


@dataclass(frozen=True)
class Worst:
    figure: Figure
    value: float
    cell: Cell
    seed: int | None  # None: the pooled value of the cell


def run(
    parameters: Parameters, seeds: Sequence[int], thresholds: Thresholds, workers: int
) -> tuple[dict[str, float], dict[int, dict[str, float]]]:
    """The figures over all seeds' clients together, and per seed."""
    outcomes: dict[int, list[ClientOutcome]] = {}
    for seed in seeds:
        outcomes[seed] = replay_population(generate(parameters, seed), thresholds, workers)
    pooled = measure([o for seed in seeds for o in outcomes[seed]])
    return pooled, {seed: measure(outcomes[seed]) for seed in seeds}


def sweep(
    base: Parameters,
    means: Sequence[float],
    within_sds: Sequence[float],
    seeds: Sequence[int],
    thresholds: Thresholds,
    workers: int,
    progress: Callable[[str], None] = lambda line: None,
) -> list[Cell]:
    cells: list[Cell] = []
    total = len(means) * len(within_sds)
    for srs_mean in means:
        for within_sd in within_sds:
            parameters = replace(base, srs_mean=srs_mean, srs_within_sd=within_sd)
            pooled, by_seed = run(parameters, seeds, thresholds, workers)
            cells.append(Cell(srs_mean, within_sd, pooled, by_seed))
            progress(f"sweep {len(cells)}/{total}: mean SRS {srs_mean:g}, within-client SD {within_sd:g}")
    return cells


def worst_cases(cells: Sequence[Cell], *, per_seed: bool = False) -> list[Worst]:
    """For each figure, the cell (pooled) or the single seed run furthest on the wrong side of its budget."""
    worst: list[Worst] = []
    for figure in FIGURES:
        found: Worst | None = None
        for cell in cells:
            runs = cell.by_seed.items() if per_seed else [(None, cell.pooled)]
            for seed, values in runs:
                if found is None or figure.worse(values[figure.key], found.value):
                    found = Worst(figure, values[figure.key], cell, seed)
        if found is not None:
            worst.append(found)
    return worst


def grid(start: float, stop: float, step: float) -> list[float]:
    """``start`` to ``stop`` inclusive by ``step``, rounded so 0.8 + 3 × 0.2 is 1.4, not 1.4000000000000001."""
    count = round((stop - start) / step)
    return [round(start + i * step, 6) for i in range(count + 1)]
