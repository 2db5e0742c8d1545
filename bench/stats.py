"""Small statistics: percentiles of samples, and median/min/max of repeated runs."""

import statistics
from collections.abc import Sequence
from pathlib import Path


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def spread(values: Sequence[float]) -> dict[str, float]:
    """The median of several runs, with their min and max."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for pid {pid}")
