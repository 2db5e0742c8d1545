"""The benchmark's outputs: a printed table with each target beside its ratio, JSON in bench/results/, and
the plots (latency against arrival rate, and the cost curves)."""

import json
import os
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
Figure = dict[str, float]


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
    path = RESULTS / f"bench-{stamp}.json"
    text = json.dumps({"machine": machine(), **results}, indent=2, sort_keys=True) + "\n"
    path.write_text(text)
    (RESULTS / "latest.json").write_text(text)
    plots(results)
    return path


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display here
    import matplotlib.pyplot as plt

    return plt


def _errorbar(axes: Any, xs: list[float], figures: list[Figure], label: str) -> None:
    axes.errorbar(
        xs,
        [f["median"] for f in figures],
        yerr=[[f["median"] - f["min"] for f in figures], [f["max"] - f["median"] for f in figures]],
        marker="o",
        capsize=3,
        label=label,
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
    by_rate = results["end_to_end_latency"]
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
    if "scale_out" in results:
        curve = results["scale_out"]["curve"]

        def scale(axes: Any) -> None:
            _errorbar(axes, [row["replicas"] for row in curve], [row["eps"] for row in curve], "scoring")
            axes.axhline(
                results["scale_out"]["ceiling_eps"]["median"],
                color="grey",
                linestyle="--",
                label="raw ceiling",
            )

        _plot("scale_out.png", "Scoring on the 3-node cluster", "scoring replicas", "events/s", scale)


def _cell(figure: Figure, digits: int = 1) -> str:
    return f"{figure['median']:.{digits}f} ({figure['min']:.{digits}f}–{figure['max']:.{digits}f})"


def _verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def table(results: dict[str, Any]) -> str:
    """Markdown: measure, median (min–max), and the target where the issue set one."""
    rows: list[tuple[str, str, str]] = []
    ratio = results["scoring_ratio"]
    rows += [
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
    intake = results["intake"]
    one, two = intake["1_workers"], intake["2_workers"]
    rows += [
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
    for row in results["end_to_end_latency"]:
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
    for name, rss in results["rss_mib"].items():
        rows.append(
            (f"{name} RSS at rest / peak under load, MiB", f"{rss['rest']:.0f} / {rss['peak']:.0f}", "")
        )
    rows.append(
        ("scoring throughput run, peak RSS, MiB", f"{results['scoring_throughput_peak_rss_mib']:.0f}", "")
    )
    lines = ["| measure | median (min–max) | target |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {target} |" for name, value, target in rows]
    return "\n".join(lines)
