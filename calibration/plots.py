"""Heatmaps of each figure over the sweep grid, with the budget drawn as a line on the colour scale.

matplotlib is imported here only (the ``calibrate`` extra), so the rest of the package and its tests run
without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .figures import FIGURES, Bound, Figure
from .sweep import Cell


def heatmaps(cells: Sequence[Cell], directory: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    means = sorted({cell.srs_mean for cell in cells})
    sds = sorted({cell.srs_within_sd for cell in cells})
    by_point = {(cell.srs_mean, cell.srs_within_sd): cell for cell in cells}
    written = []
    for figure in FIGURES:
        scale = 100.0 if figure.percent else 1.0
        grid = [[by_point[(m, sd)].pooled[figure.key] * scale for sd in sds] for m in means]
        budget = figure.budget * scale
        # The budget is the middle of the colour scale: green on its side, red past it, whatever the range.
        margin = max(abs(budget) * 0.01, 1e-6)
        low = min(min(min(row) for row in grid), budget) - margin
        high = max(max(max(row) for row in grid), budget) + margin
        norm = TwoSlopeNorm(vcenter=budget, vmin=low, vmax=high)
        cmap = "RdYlGn_r" if figure.bound is Bound.AT_MOST else "RdYlGn"
        fig, axes = plt.subplots(figsize=(6.4, 4.8))
        image = axes.imshow(grid, origin="lower", cmap=cmap, norm=norm)
        axes.set_xticks(range(len(sds)), [f"{sd:g}" for sd in sds])
        axes.set_yticks(range(len(means)), [f"{m:g}" for m in means])
        axes.set_xlabel("within-client SD of the SRS total")
        axes.set_ylabel("mean SRS total of the population")
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                passes = figure.passes(value / scale)
                axes.text(
                    j,
                    i,
                    _label(figure, value) + ("" if passes else "\n✗"),
                    ha="center",
                    va="center",
                    fontsize=8,
                )
        bar = fig.colorbar(image, ax=axes)
        bar.ax.axhline(budget, color="black", linewidth=2)
        bar.set_label(
            f"{'%' if figure.percent else 'per client-session'}; line: budget {figure.budget_shown}"
        )
        axes.set_title(figure.label, fontsize=9)
        fig.tight_layout()
        path = directory / f"sweep_{figure.key}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def _label(figure: Figure, value: float) -> str:
    return f"{value:.1f}" if figure.percent else f"{value:.3f}"
