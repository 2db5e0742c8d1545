"""The benchmark's outputs: a printed table, JSON in bench/results/, and a latency-against-rate plot."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write(results: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"bench-{stamp}.json"
    text = json.dumps(results, indent=2, sort_keys=True) + "\n"
    path.write_text(text)
    (RESULTS / "latest.json").write_text(text)
    plot_latency(results["end_to_end_latency"], RESULTS / "latency.png")
    return path


def plot_latency(by_rate: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display here
    import matplotlib.pyplot as plt

    rates = [row["rate"] for row in by_rate]
    figure, axes = plt.subplots(figsize=(6, 4))
    for key, label in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
        axes.errorbar(
            rates,
            [row[key]["median"] for row in by_rate],
            yerr=[
                [row[key]["median"] - row[key]["min"] for row in by_rate],
                [row[key]["max"] - row[key]["median"] for row in by_rate],
            ],
            marker="o",
            capsize=3,
            label=label,
        )
    axes.set_xlabel("arrival rate (feedback per second)")
    axes.set_ylabel("POST /v1/feedback to webhook call (ms)")
    axes.set_title("End-to-end alert latency (median of runs, min-max bars)")
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def table(results: dict[str, Any]) -> str:
    def cell(figure: dict[str, float], unit: str = "") -> str:
        return f"{figure['median']:.1f}{unit} ({figure['min']:.1f}–{figure['max']:.1f})"

    lines = [
        "| measure | median (min–max) |",
        "|---|---|",
        f"| raw ceiling, events/s | {cell(results['ceiling_eps'])} |",
        f"| scoring, events/s | {cell(results['scoring_eps'])} |",
        f"| scoring / ceiling | {results['scoring_ratio']:.0%} |",
        f"| replay, events/s | {cell(results['replay_eps'])} |",
        f"| replay / ceiling | {results['replay_ratio']:.0%} |",
        f"| feedback intake, requests/s | {cell(results['intake']['rps'])} |",
        f"| intake latency p50 / p95 / p99, ms | {cell(results['intake']['p50_ms'])} / "
        f"{cell(results['intake']['p95_ms'])} / {cell(results['intake']['p99_ms'])} |",
    ]
    for row in results["end_to_end_latency"]:
        lines.append(
            f"| end-to-end at {row['rate']:g} feedback/s: p50 / p95 / p99, ms "
            f"(alerts delivered {row['delivered']} of {row['sent']}) | "
            f"{cell(row['p50_ms'])} / {cell(row['p95_ms'])} / {cell(row['p99_ms'])} |"
        )
    for name, rss in results["rss_mib"].items():
        lines.append(f"| {name} RSS at rest / peak under load, MiB | {rss['rest']:.0f} / {rss['peak']:.0f} |")
    return "\n".join(lines)
