"""The bench's table: only the rows of the sections a run measured, each target judged on its figures."""

from typing import Any

from bench.report import table


def spread(median: float, low: float | None = None, high: float | None = None) -> dict[str, float]:
    return {"median": median, "min": median if low is None else low, "max": median if high is None else high}


def clinic_views(summary_p95_at_20000: float, caseload: int = 1000) -> dict[str, Any]:
    sizes = [1000, 5000, 20000]
    fast = {size: {"p50_ms": 5.0, "p95_ms": 8.0} for size in sizes}
    return {
        "sizes": sizes,
        "caseload": caseload,
        "repeats": 30,
        "sessions_per_client": 10,
        "endpoints": {
            "summary": {**fast, 20000: {"p50_ms": 50.0, "p95_ms": summary_p95_at_20000}},
            "clinic_view": fast,
            "caseload": fast,
            "caseload_view": fast,
        },
        "clinic": {},
    }


def history_cost(worst_to_best: float) -> dict[str, Any]:
    names = ("facts_10", "facts_100", "facts_1000", "resubmissions")
    return {
        "events": dict.fromkeys(names, 10_000),
        "runs": 3,
        "resubmissions": 1000,
        "streams": {
            name: {"us_per_event": spread(400), "events_per_s": spread(2500), "peak_rss_mib": 120.0}
            for name in names
        },
        "ceiling_eps": spread(15_000, 14_000, 16_000),
        "scoring_ratio": 0.17,
        "worst_to_best": worst_to_best,
    }


def row(rendered: str, starting: str) -> list[str]:
    """The cells of the one row whose measure starts with ``starting``."""
    found = [line for line in rendered.splitlines() if line.startswith(f"| {starting}")]
    assert len(found) == 1, found
    return [cell.strip() for cell in found[0].strip("|").split("|")]


def test_only_the_measured_sections_have_rows() -> None:
    rendered = table({"runs": 1, "history_cost": history_cost(1.4)})

    assert "history raw ceiling" in rendered
    assert "clinic" not in rendered
    assert "end to end" not in rendered
    assert "RSS at rest" not in rendered
    assert "replay" not in rendered


def test_the_clinic_figures_are_judged_at_20000_clients() -> None:
    rendered = table({"runs": 1, "clinic_views": clinic_views(summary_p95_at_20000=126.0)})

    assert row(rendered, "clinic summary (API) in a clinic of 20,000 clients") == [
        "clinic summary (API) in a clinic of 20,000 clients: p50 / p95 of 30 requests, ms",
        "50.0 / 126.0",
        "p95 < 100 ms at 20,000: **not met**",
    ]
    assert row(rendered, "clinic view (signed-in supervisor) in a clinic of 20,000")[2] == (
        "p95 < 100 ms at 20,000: met"
    )
    assert row(rendered, "clinic summary (API) in a clinic of 5,000 clients")[2] == ""
    assert row(rendered, "caseload of 1,000 clients (view) in a clinic of 5,000")[2] == "< 100 ms: met"


def test_a_caseload_other_than_the_issues_is_shown_but_not_judged() -> None:
    rendered = table({"clinic_views": clinic_views(summary_p95_at_20000=90.0, caseload=200)})

    assert row(rendered, "caseload of 200 clients (API) in a clinic of 1,000")[1:] == ["5.0 / 8.0", ""]


def test_the_history_streams_are_judged_together_on_worst_to_best() -> None:
    within = row(table({"history_cost": history_cost(1.41)}), "scoring µs per event, worst stream / best")
    beyond = row(table({"history_cost": history_cost(5.73)}), "scoring µs per event, worst stream / best")

    assert within[1:] == ["1.41×", "within 2× of each other: met"]
    assert beyond[1:] == ["5.73×", "within 2× of each other: **not met**"]
    rendered = table({"history_cost": history_cost(1.41)})
    assert row(rendered, "scoring, 1,000 resubmissions per client")[1] == "400 (400–400)"
    assert row(rendered, "scoring, 100 facts per client")[0].endswith("(10,000 events), µs per event")


def test_sizes_read_back_from_json_are_ordered_as_numbers() -> None:
    views = clinic_views(summary_p95_at_20000=90.0)
    views["endpoints"] = {
        name: {str(size): figure for size, figure in by_size.items()}
        for name, by_size in views["endpoints"].items()
    }

    rendered = table({"clinic_views": views})

    summary_rows = [line for line in rendered.splitlines() if line.startswith("| clinic summary")]
    assert ["1,000" in summary_rows[0], "5,000" in summary_rows[1], "20,000" in summary_rows[2]] == [True] * 3
    assert row(rendered, "clinic summary (API) in a clinic of 20,000")[2] == "p95 < 100 ms at 20,000: met"
