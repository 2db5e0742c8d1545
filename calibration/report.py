"""The budget table as text for the terminal, as Markdown and as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

from .figures import FIGURES, Row
from .sweep import Cell, Worst


def verdict(passes: bool) -> str:
    return "pass" if passes else "MISS"


def text_table(rows: Sequence[Row]) -> str:
    width = max(len(row.figure.label) for row in rows)
    lines = [f"{'figure':<{width}}  {'budget':>10}  {'measured':>10}  result"]
    for row in rows:
        lines.append(
            f"{row.figure.label:<{width}}  {row.figure.budget_shown:>10}  "
            f"{row.figure.shown(row.value):>10}  {verdict(row.passes)}"
        )
    return "\n".join(lines)


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| figure | budget | measured | result |", "|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row.figure.label} | {row.figure.budget_shown} | {row.figure.shown(row.value)} | "
            f"{verdict(row.passes)} |"
        )
    return "\n".join(lines)


def reasons_text(reasons: Sequence[tuple[str, int, float]]) -> str:
    return "\n".join(f"{code:<20} {count:>6}  {share * 100:5.1f} %" for code, count, share in reasons)


def markdown_reasons(reasons: Sequence[tuple[str, int, float]]) -> str:
    lines = ["| marker at the alerted session | alerts | share of alerts |", "|---|---|---|"]
    lines += [f"| `{code}` | {count} | {share * 100:.1f} % |" for code, count, share in reasons]
    return "\n".join(lines)


def same_session_text(pairs: int, alerts: int, undone: Mapping[str, int]) -> str:
    """What follows from a session's facts arriving one at a time, not a budget figure: the client's SRS and
    psq alerting twice a minute apart, and resolutions announced and then undone by a later fact."""
    by = ", ".join(f"{count} by the {_fact_words(kind)}" for kind, count in sorted(undone.items())) or "none"
    return (
        f"Sessions whose client SRS and psq (one form, a minute apart) each sent a push alert: {pairs}, "
        f"against {alerts} push alerts in all. Resolutions announced and then undone by a later fact of the "
        f"same session (nothing more is announced about such an episode): {sum(undone.values())} ({by})"
    )


def _fact_words(kind: str) -> str:
    """``psq-client`` as "client's psq", ``srs-therapist`` as "therapist's SRS"."""
    instrument, _, respondent = kind.partition("-")
    if not respondent:
        return "session record"
    return f"{respondent}'s {instrument if instrument == 'psq' else instrument.upper()}"


def worst_text(worst: Sequence[Worst]) -> str:
    lines = []
    for case in worst:
        where = f"mean SRS {case.cell.srs_mean:g}, within-client SD {case.cell.srs_within_sd:g}"
        if case.seed is not None:
            where += f", seed {case.seed}"
        lines.append(
            f"{case.figure.label}: {case.figure.shown(case.value)} ({case.figure.budget_shown}, "
            f"{verdict(case.figure.passes(case.value))}) at {where}"
        )
    return "\n".join(lines)


def markdown_worst(worst: Sequence[Worst], per_seed: Sequence[Worst]) -> str:
    lines = [
        "| figure | budget | worst cell (seeds pooled) | where | worst single seed | where |",
        "|---|---|---|---|---|---|",
    ]
    for case, single in zip(worst, per_seed, strict=True):
        figure = case.figure
        lines.append(
            f"| {figure.label} | {figure.budget_shown} | {figure.shown(case.value)} "
            f"{verdict(figure.passes(case.value))} | {_where(case)} | {figure.shown(single.value)} "
            f"{verdict(figure.passes(single.value))} | {_where(single)}, seed {single.seed} |"
        )
    return "\n".join(lines)


def _where(case: Worst) -> str:
    return f"mean {case.cell.srs_mean:g}, SD {case.cell.srs_within_sd:g}"


def markdown_grids(cells: Sequence[Cell]) -> str:
    """One grid per figure: rows are the mean SRS, columns the within-client SD; misses are marked."""
    means = sorted({cell.srs_mean for cell in cells})
    sds = sorted({cell.srs_within_sd for cell in cells})
    by_point = {(cell.srs_mean, cell.srs_within_sd): cell for cell in cells}
    parts = []
    for figure in FIGURES:
        lines = [
            f"**{figure.label}** (budget {figure.budget_shown}; ✗ marks a miss)",
            "",
            "| mean SRS \\ within-client SD | " + " | ".join(f"{sd:g}" for sd in sds) + " |",
            "|---|" + "---|" * len(sds),
        ]
        for srs_mean in means:
            values = []
            for sd in sds:
                value = by_point[(srs_mean, sd)].pooled[figure.key]
                values.append(figure.shown(value) + ("" if figure.passes(value) else " ✗"))
            lines.append(f"| {srs_mean:g} | " + " | ".join(values) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def markdown_document(
    rows: Sequence[Row],
    reasons: Sequence[tuple[str, int, float]],
    settings: Mapping[str, str],
    cells: Sequence[Cell] | None,
    worst: Sequence[Worst] | None,
    per_seed: Sequence[Worst] | None,
    *,
    same_session: str | None = None,
    tracking: Sequence[str] | None = None,
) -> str:
    setting_lines = "\n".join(f"- {name}: {value}" for name, value in settings.items())
    parts = [
        "# The alert budget, measured",
        "",
        "Written by `make calibrate`; the definitions of the figures are in [README.md](README.md).",
        "",
        setting_lines,
        "",
        "## At the population",
        "",
        markdown_table(rows),
        "",
        "What the push alerts of the clients without a planted rupture rest on (the markers of the alerted",
        "session; `stale`: a stale escalation; an alert may carry several):",
        "",
        markdown_reasons(reasons),
    ]
    if same_session is not None:
        parts += ["", same_session + "."]
    if tracking:
        parts += [
            "",
            "## Not on track, with expected trajectories fitted on this population",
            "",
            "The budget above is measured before any fit (a new clinic). Once the clinic's curves are fitted, "
            "`not_on_track` joins; the population's own curves, every client replayed against them:",
            "",
            *tracking,
        ]
    if cells and worst and per_seed:
        parts += [
            "",
            "## Across the sweep",
            "",
            "Worst case of each figure over the grid:",
            "",
            markdown_worst(worst, per_seed),
            "",
            markdown_grids(cells),
        ]
    return "\n".join(parts) + "\n"


def csv_defaults(rows: Sequence[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["figure", "label", "bound", "budget", "measured", "result"])
    for row in rows:
        figure = row.figure
        writer.writerow(
            [
                figure.key,
                figure.label,
                figure.bound.value,
                figure.budget,
                f"{row.value:.6f}",
                verdict(row.passes),
            ]
        )
    return out.getvalue()


def csv_sweep(cells: Sequence[Cell]) -> str:
    """One row per cell and seed, and one per cell with the seeds pooled (seed ``pooled``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["srs_mean", "srs_within_sd", "seed", *(figure.key for figure in FIGURES), "misses"])
    for cell in cells:
        runs: list[tuple[str, dict[str, float]]] = [(str(s), v) for s, v in cell.by_seed.items()]
        for seed, values in [*runs, ("pooled", cell.pooled)]:
            misses = sum(not figure.passes(values[figure.key]) for figure in FIGURES)
            writer.writerow(
                [
                    cell.srs_mean,
                    cell.srs_within_sd,
                    seed,
                    *(f"{values[figure.key]:.6f}" for figure in FIGURES),
                    misses,
                ]
            )
    return out.getvalue()
