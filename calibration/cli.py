"""`python -m calibration`: measure the alert budget on the reference population, then across the sweep.

Prints the table at the given population, then the sweep's worst cases; writes budget.md, budget.csv,
sweep.csv and the heatmaps under ``--out``. Exits 1 when a figure misses its budget (at the population or
at the sweep's worst cell) unless ``--no-fail``: the budget is a gate, not a report.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path

from services.scoring.domain import Thresholds

from . import plots, report
from .figures import Row, alert_reasons, basis, form_pairs, measure, table, undone_resolutions
from .population import Parameters, generate, parameter_fields
from .replay import replay_population
from .sweep import Cell, Worst, grid, sweep, worst_cases
from .trajectories import fitted_on, lines, tracking_figures, with_trajectories

DEFAULT_OUT = Path("docs/calibration")


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(prog="python -m calibration", description=__doc__.splitlines()[0])
    parse.add_argument(
        "--seed", type=int, default=1, help="seed of the population at the defaults (default 1)"
    )
    parse.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a clinic threshold, e.g. --set srs_cutoff=35 (repeatable)",
    )
    parse.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"where to write (default {DEFAULT_OUT})"
    )
    parse.add_argument("--no-sweep", action="store_true", help="only the table at the given population")
    parse.add_argument("--no-fail", action="store_true", help="exit 0 even when a figure misses its budget")
    parse.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)"
    )
    parse.add_argument(
        "--sweep-clients", type=int, default=500, help="clients per seed in a sweep cell (500)"
    )
    parse.add_argument("--sweep-seeds", type=int, default=3, help="seeds per sweep cell, 1..n (default 3)")
    parse.add_argument(
        "--sweep-means",
        type=_range,
        default=(36.5, 38.5, 0.5),
        metavar="START:STOP:STEP",
        help="mean SRS values of the sweep (default 36.5:38.5:0.5)",
    )
    parse.add_argument(
        "--sweep-sds",
        type=_range,
        default=(0.8, 1.6, 0.2),
        metavar="START:STOP:STEP",
        help="within-client SDs of the sweep (default 0.8:1.6:0.2)",
    )
    population = parse.add_argument_group("population (see docs/calibration/README.md for the sources)")
    for name, default, help_text, _ in parameter_fields():
        population.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=type(default),
            default=default,
            help=f"{help_text} (default {default:g})",
        )
    return parse


def _range(text: str) -> tuple[float, float, float]:
    try:
        start, stop, step = (float(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError("expected START:STOP:STEP, e.g. 36.5:38.5:0.5") from None
    if step <= 0 or stop < start:
        raise argparse.ArgumentTypeError("STEP must be positive and STOP at least START")
    return start, stop, step


def thresholds_of(assignments: Sequence[str]) -> Thresholds:
    """The default thresholds with ``name=value`` overrides; whole-number settings are parsed as integers."""
    defaults = Thresholds()
    overrides: dict[str, object] = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep:
            raise SystemExit(f"--set expects NAME=VALUE, got {assignment!r}")
        current = getattr(defaults, name.strip(), None)
        is_count = isinstance(current, int) and not isinstance(current, bool)
        try:
            overrides[name.strip()] = int(value) if is_count else value.strip()
        except ValueError:
            raise SystemExit(f"--set {name.strip()} expects a whole number, got {value!r}") from None
    try:
        return Thresholds.from_mapping(overrides)
    except ValueError as error:
        raise SystemExit(f"invalid --set: {error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    thresholds = thresholds_of(args.set)
    try:
        parameters = Parameters(**{f.name: getattr(args, f.name) for f in fields(Parameters)})
    except ValueError as error:
        raise SystemExit(f"invalid population: {error}") from None
    started = time.monotonic()
    say(f"replaying {parameters.clients} clients (seed {args.seed}, {args.workers} workers)...")
    outcomes = replay_population(generate(parameters, args.seed), thresholds, args.workers)
    rows = table(measure(outcomes))
    reasons = alert_reasons([outcome for outcome in outcomes if not outcome.planted])
    print(report.text_table(rows))
    print(f"on {basis(outcomes)}")
    print(
        "\nWhat the push alerts of clients without a planted rupture rest on (markers of the alerted session):"
    )
    print(report.reasons_text(reasons))
    same_session = report.same_session_text(*form_pairs(outcomes), undone_resolutions(outcomes))
    print(f"\n{same_session}")
    say(f"done in {time.monotonic() - started:.1f} s; fitting the expected trajectories on the population...")
    population = generate(parameters, args.seed)
    expected = fitted_on(population, f"population@seed-{args.seed}")
    tracked = replay_population(population, with_trajectories(thresholds, expected), args.workers)
    tracking = lines(tracking_figures(expected, outcomes, tracked))
    print("\nnot_on_track, with the expected trajectories fitted on this population:")
    print("\n".join(tracking))
    say(f"done in {time.monotonic() - started:.1f} s")
    settings = {
        "population": f"{parameters.clients} clients, seed {args.seed}, other parameters at their defaults"
        if parameters == replace(Parameters(), clients=parameters.clients)
        else f"{parameters.clients} clients, seed {args.seed}, parameters: {_changed(parameters)}",
        "threshold overrides": ", ".join(args.set) or "none (the domain's defaults)",
        "figures at the population rest on": basis(outcomes),
    }
    misses = not all(row.passes for row in rows)
    cells = worst = per_seed = None
    if not args.no_sweep:
        means, sds = grid(*args.sweep_means), grid(*args.sweep_sds)
        seeds = list(range(1, args.sweep_seeds + 1))
        say(f"sweep: {len(means)} means × {len(sds)} SDs × {len(seeds)} seeds × {args.sweep_clients} clients")
        base = replace(parameters, clients=args.sweep_clients)
        cells = sweep(base, means, sds, seeds, thresholds, args.workers, say)
        worst, per_seed = worst_cases(cells), worst_cases(cells, per_seed=True)
        print("\nWorst case of each figure across the sweep (seeds pooled per cell):")
        print(report.worst_text(worst))
        print("\nWorst single seed:")
        print(report.worst_text(per_seed))
        settings["sweep"] = (
            f"mean SRS {means[0]:g}–{means[-1]:g} × within-client SD {sds[0]:g}–{sds[-1]:g}, "
            f"{len(seeds)} seeds × {args.sweep_clients} clients per cell"
        )
        misses = misses or not all(case.figure.passes(case.value) for case in worst)
    _write(args.out, rows, reasons, same_session, settings, cells, worst, per_seed, tracking)
    say(f"written under {args.out} in {time.monotonic() - started:.1f} s in all")
    return 1 if misses and not args.no_fail else 0


def _changed(parameters: Parameters) -> str:
    defaults = Parameters()
    return ", ".join(
        f"{f.name}={getattr(parameters, f.name):g}"
        for f in fields(Parameters)
        if f.name != "clients" and getattr(parameters, f.name) != getattr(defaults, f.name)
    )


def _write(
    out: Path,
    rows: Sequence[Row],
    reasons: Sequence[tuple[str, int, float]],
    same_session: str,
    settings: dict[str, str],
    cells: Sequence[Cell] | None,
    worst: Sequence[Worst] | None,
    per_seed: Sequence[Worst] | None,
    tracking: Sequence[str] | None = None,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    document = report.markdown_document(
        rows, reasons, settings, cells, worst, per_seed, same_session=same_session, tracking=tracking
    )
    (out / "budget.md").write_text(document)
    (out / "budget.csv").write_text(report.csv_defaults(rows))
    if cells:
        (out / "sweep.csv").write_text(report.csv_sweep(cells))
        plots.heatmaps(cells, out)
