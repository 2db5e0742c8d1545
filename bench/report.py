"""The benchmark's outputs: a printed table with each target beside its ratio, JSON in bench/results/, and
the plots (latency against arrival rate, and the cost curves)."""

import json
import os
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

RESULTS = Path(__file__).resolve().parent / "results"
Figure = dict[str, float]
T = TypeVar("T")
Row = tuple[str, str, str]
CLINIC_TARGET_MS = 100  # p95 of the clinic figures at 20,000 clients and of a caseload of 1,000 clients
CLINIC_TARGET_SIZE = 20_000
CASELOAD_TARGET = 1000
HISTORY_SPREAD = 2.0  # scoring's µs per event at every history within this factor of each other


def machine() -> str:
    cores = len(os.sched_getaffinity(0))
    memory = next(
        int(line.split()[1]) // (1024 * 1024)
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{cores} cores ({model}), {memory} GiB, {platform.system()} {platform.release()}"


def write(results: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    traced = bool(results.get("tracing"))
    path = RESULTS / f"bench-{stamp}{'-tracing' if traced else ''}.json"
    text = json.dumps({"machine": machine(), **results}, indent=2, sort_keys=True) + "\n"
    path.write_text(text)
    # A run with tracing on is compared with the usual figures, not put in their place (nor their plots).
    (RESULTS / ("latest-tracing.json" if traced else "latest.json")).write_text(text)
    if not traced:
        plots(results)
    return path


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display here
    import matplotlib.pyplot as plt

    return plt


def _min_max_bars(figures: list[Figure]) -> list[list[float]]:
    """Matplotlib's ``yerr`` for bars from each median down to the min and up to the max."""
    return [[f["median"] - f["min"] for f in figures], [f["max"] - f["median"] for f in figures]]


def _errorbar(axes: Any, xs: list[float], figures: list[Figure], label: str) -> None:
    axes.errorbar(
        xs, [f["median"] for f in figures], yerr=_min_max_bars(figures), marker="o", capsize=3, label=label
    )


def _plot(
    name: str, title: str, xlabel: str, ylabel: str, draw: Callable[[Any], None], log_x: bool = False
) -> None:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6, 4))
    draw(axes)
    if log_x:
        axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(RESULTS / name, dpi=100)
    plt.close(figure)


def plots(results: dict[str, Any]) -> None:
    """The plots of the sections present in ``results``."""
    if "end_to_end_latency" in results:
        _latency_plot(results["end_to_end_latency"])
    if "clinic_views" in results:
        _clinic_plot(results["clinic_views"])
    if "history_cost" in results:
        _history_plot(results["history_cost"])
    if "scale_out" in results:
        _scale_out_plot(results["scale_out"])


def _latency_plot(by_rate: list[dict[str, Any]]) -> None:
    rates = [row["rate"] for row in by_rate]

    def latency(axes: Any) -> None:
        for key in ("p50_ms", "p95_ms", "p99_ms"):
            _errorbar(axes, rates, [row[key] for row in by_rate], key.removesuffix("_ms"))
        axes.axhline(250, color="grey", linestyle="--", label="p99 target at 300/s")

    _plot(
        "latency.png",
        "End-to-end alert latency (median of runs, min-max bars)",
        "arrival rate (feedback per second, wrk)",
        "POST /v1/feedback to webhook call (ms)",
        latency,
    )


def _clinic_plot(views: dict[str, Any]) -> None:
    def clinic(axes: Any) -> None:
        for name, by_size in views["endpoints"].items():
            points = _by_size(by_size)
            axes.plot(list(points), [row["p95_ms"] for row in points.values()], marker="o", label=name)
        axes.axhline(CLINIC_TARGET_MS, color="grey", linestyle="--", label=f"{CLINIC_TARGET_MS} ms target")

    _plot(
        "clinic_views.png",
        f"Clinic figures and a caseload of {views['caseload']:,} clients",
        "clients in the clinic",
        f"p95 of {views['repeats']} requests (ms)",
        clinic,
        log_x=True,
    )


def _history_plot(history: dict[str, Any]) -> None:
    streams = history["streams"]
    figures = [streams[name]["us_per_event"] for name in streams]

    def cost(axes: Any) -> None:
        axes.bar(
            [_stream_label(name, history) for name in streams],
            [f["median"] for f in figures],
            yerr=_min_max_bars(figures),
            capsize=3,
            label="median of runs, min-max bars",
        )
        best = min(f["median"] for f in figures)
        axes.axhline(
            HISTORY_SPREAD * best, color="grey", linestyle="--", label=f"{HISTORY_SPREAD:g}× the best"
        )

    _plot("history_cost.png", "Scoring's cost per event as a history grows", "stream", "µs per event", cost)


def _scale_out_plot(scale_out: dict[str, Any]) -> None:
    curve = scale_out["curve"]

    def scale(axes: Any) -> None:
        _errorbar(axes, [row["replicas"] for row in curve], [row["eps"] for row in curve], "scoring")
        axes.axhline(scale_out["ceiling_eps"]["median"], color="grey", linestyle="--", label="raw ceiling")

    _plot("scale_out.png", "Scoring on the 3-node cluster", "scoring replicas", "events/s", scale)


def _by_size(by_size: dict[Any, T]) -> dict[int, T]:
    """Figures by clinic size, smallest first (numbers as keys in a run, strings once read from JSON)."""
    return {int(size): by_size[size] for size in sorted(by_size, key=int)}


def _stream_label(name: str, history: dict[str, Any]) -> str:
    if name == "resubmissions":
        return f"{history['resubmissions']:,} resubmissions"
    return f"{int(name.removeprefix('facts_')):,} facts"


def _cell(figure: Figure, digits: int = 1) -> str:
    return f"{figure['median']:.{digits}f} ({figure['min']:.{digits}f}–{figure['max']:.{digits}f})"


def _verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def table(results: dict[str, Any]) -> str:
    """Markdown: measure, median (min–max), and the target where the issue set one; only the rows of the
    sections present in ``results``."""
    rows: list[Row] = []
    if "scoring_ratio" in results:
        rows += _pipeline_rows(results)
    if "intake" in results:
        rows += _intake_rows(results["intake"])
    if "end_to_end_latency" in results:
        rows += _latency_rows(results["end_to_end_latency"])
    if "clinic_views" in results:
        rows += _clinic_rows(results["clinic_views"])
    if "history_cost" in results:
        rows += _history_rows(results["history_cost"])
    if "scale_out" in results:
        scale = results["scale_out"]
        rows.append(("cluster raw ceiling, events/s", _cell(scale["ceiling_eps"], 0), ""))
        for row in scale["curve"]:
            rows.append(
                (
                    f"cluster scoring, {row['replicas']} replica(s), events/s",
                    _cell(row["eps"], 0),
                    f"{row['ratio']:.0%} of the cluster ceiling",
                )
            )
    for name, rss in results.get("rss_mib", {}).items():
        rows.append(
            (f"{name} RSS at rest / peak under load, MiB", f"{rss['rest']:.0f} / {rss['peak']:.0f}", "")
        )
    if "scoring_throughput_peak_rss_mib" in results:
        rows.append(
            ("scoring throughput run, peak RSS, MiB", f"{results['scoring_throughput_peak_rss_mib']:.0f}", "")
        )
    lines = ["Tracing on: every span exported to Jaeger.", ""] if results.get("tracing") else []
    lines += ["| measure | median (min–max) | target |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {target} |" for name, value, target in rows]
    return "\n".join(lines)


def _pipeline_rows(results: dict[str, Any]) -> list[Row]:
    ratio = results["scoring_ratio"]
    return [
        ("raw ceiling, events/s", _cell(results["ceiling_eps"], 0), ""),
        ("scoring, events/s", _cell(results["scoring_eps"], 0), ""),
        ("scoring / raw ceiling", f"{ratio:.0%}", f"≥ 50 %: {_verdict(ratio >= 0.5)}"),
        ("replay, events/s", _cell(results["replay_eps"], 0), ""),
        (
            "replay / raw ceiling",
            f"{results['replay_ratio']:.0%}",
            f"≥ 80 %: {_verdict(results['replay_ratio'] >= 0.8)}",
        ),
    ]


def _intake_rows(intake: dict[str, Any]) -> list[Row]:
    one, two = intake["1_workers"], intake["2_workers"]
    return [
        ("GET /healthz, 1 worker, requests/s (the server's floor)", _cell(one["healthz"]["rps"], 0), ""),
        ("intake ceiling (bare ASGI app, same producer), requests/s", _cell(one["ceiling"]["rps"], 0), ""),
        ("POST /v1/feedback, 1 worker, requests/s", _cell(one["feedback"]["rps"], 0), ""),
        (
            "POST /v1/feedback / /healthz",
            f"{intake['feedback_to_healthz']:.0%}",
            f"≥ 60 %: {_verdict(intake['feedback_to_healthz'] >= 0.6)}",
        ),
        (
            "POST /v1/feedback / intake ceiling",
            f"{intake['feedback_to_ceiling']:.0%}",
            f"≥ 80 %: {_verdict(intake['feedback_to_ceiling'] >= 0.8)}",
        ),
        (
            f"POST /v1/feedback latency p50 / p99, ms (wrk, {intake['connections']} connections)",
            f"{_cell(one['feedback']['p50_ms'])} / {_cell(one['feedback']['p99_ms'])}",
            "",
        ),
        (
            "POST /v1/events:batch, 500 items, items/s",
            _cell(one["batch"]["items_per_s"], 0),
            f"≥ 10 000: {_verdict(one['batch']['items_per_s']['median'] >= 10_000)}",
        ),
        ("GET /healthz, 2 workers, requests/s", _cell(two["healthz"]["rps"], 0), ""),
        (
            "POST /v1/feedback, 2 workers, requests/s",
            _cell(two["feedback"]["rps"], 0),
            f"{intake['two_workers_to_one']:.2f}× one worker",
        ),
    ]


def _latency_rows(by_rate: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for row in by_rate:
        p99 = row["p99_ms"]["median"]
        target = f"< 250 ms: {_verdict(p99 < 250)}" if row["rate"] == 300 else ""
        rows.append(
            (
                f"end to end at {row['rate']:g} feedback/s (wrk, achieved {row['achieved_rate']['median']:.0f}/s;"
                f" alerts delivered {row['delivered']} of {row['sent']}): p50 / p95 / p99, ms",
                f"{_cell(row['p50_ms'])} / {_cell(row['p95_ms'])} / {_cell(row['p99_ms'])}",
                target,
            )
        )
    return rows


def _clinic_rows(views: dict[str, Any]) -> list[Row]:
    """Each endpoint at each clinic size: p50 / p95 of the timed requests. The clinic's figures are judged at
    20,000 clients, the caseload wherever it holds 1,000 clients."""
    caseload, timed = views["caseload"], f"p50 / p95 of {views['repeats']} requests, ms"
    subjects = {
        "summary": "clinic summary (API)",
        "clinic_view": "clinic view (signed-in supervisor)",
        "caseload": f"caseload of {caseload:,} clients (API)",
        "caseload_view": f"caseload of {caseload:,} clients (view)",
    }
    rows: list[Row] = []
    for name in subjects:  # in this order whatever the order read (JSON sorts them by name)
        for size, figure in _by_size(views["endpoints"].get(name, {})).items():
            label = f"{subjects[name]} in a clinic of {size:,} clients: {timed}"
            value = f"{figure['p50_ms']:.1f} / {figure['p95_ms']:.1f}"
            rows.append((label, value, _clinic_target(name, size, caseload, figure["p95_ms"])))
    return rows


def _clinic_target(endpoint: str, size: int, caseload: int, p95: float) -> str:
    met = _verdict(p95 < CLINIC_TARGET_MS)
    if endpoint.startswith("caseload"):
        return f"< {CLINIC_TARGET_MS} ms: {met}" if caseload == CASELOAD_TARGET else ""
    if size == CLINIC_TARGET_SIZE:
        return f"p95 < {CLINIC_TARGET_MS} ms at {CLINIC_TARGET_SIZE:,}: {met}"
    return ""


def _history_rows(history: dict[str, Any]) -> list[Row]:
    """Scoring's µs per event on each stream, judged together: the worst within 2× of the best."""
    streams, spread = history["streams"], history["worst_to_best"]
    rows: list[Row] = [("history raw ceiling, events/s", _cell(history["ceiling_eps"], 0), "")]
    for name, figures in streams.items():
        rows.append(
            (
                f"scoring, {_stream_label(name, history)} per client ({history['events'][name]:,} events),"
                " µs per event",
                _cell(figures["us_per_event"], 0),
                "",
            )
        )
    rows += [
        (
            "scoring µs per event, worst stream / best",
            f"{spread:.2f}×",
            f"within {HISTORY_SPREAD:g}× of each other: {_verdict(spread <= HISTORY_SPREAD)}",
        ),
        ("scoring / history raw ceiling, at the smallest history", f"{history['scoring_ratio']:.0%}", ""),
        (
            "scoring peak RSS on the history streams, MiB",
            " / ".join(
                f"{_stream_label(name, history)} {figures['peak_rss_mib']:.0f}"
                for name, figures in streams.items()
            ),
            "",
        ),
    ]
    return rows
