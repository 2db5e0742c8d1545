"""The outputs mark a miss, and the sweep finds the worst case where it is."""

import csv
import io

from calibration.figures import FIGURES, table
from calibration.report import csv_defaults, csv_sweep, markdown_document, text_table, worst_text
from calibration.sweep import Cell, grid, worst_cases

PASSING = {
    "alerts_unplanted": 0.01,
    "alerts_all": 0.02,
    "open_medium": 0.05,
    "detected_at_start": 0.95,
    "detected_within_2": 0.99,
}


def test_the_table_marks_a_miss_and_only_that_one() -> None:
    rows = table({**PASSING, "alerts_all": 0.2})
    text = text_table(rows)
    missed = [line for line in text.splitlines() if line.endswith("MISS")]
    assert len(missed) == 1 and "all clients" in missed[0] and "0.2000" in missed[0]
    assert text.count("pass") == 4


def test_every_output_marks_a_missed_detection() -> None:
    rows = table({**PASSING, "detected_at_start": 0.5})
    assert "| planted ruptures alerted in the session they start | ≥ 90.0 % | 50.0 % | MISS |" in (
        markdown_document(rows, [], {"population": "test"}, None, None, None)
    )
    results = {line["figure"]: line["result"] for line in csv.DictReader(io.StringIO(csv_defaults(rows)))}
    assert results["detected_at_start"] == "MISS"
    assert list(results.values()).count("pass") == 4


def cell(srs_mean: float, sd: float, **changes: float) -> Cell:
    values = {**PASSING, **changes}
    return Cell(srs_mean, sd, values, {1: values, 2: {**values, "alerts_all": values["alerts_all"] + 0.1}})


def test_worst_cases_name_the_cell_and_the_seed() -> None:
    cells = [
        cell(36.5, 0.8, open_medium=0.3),
        cell(37.0, 1.2, detected_at_start=0.7),
        cell(38.5, 1.6, alerts_all=0.05),
    ]
    worst = {case.figure.key: case for case in worst_cases(cells)}
    assert (worst["open_medium"].cell.srs_mean, worst["open_medium"].value) == (36.5, 0.3)
    assert (worst["detected_at_start"].cell.srs_within_sd, worst["detected_at_start"].value) == (1.2, 0.7)
    single = {case.figure.key: case for case in worst_cases(cells, per_seed=True)}
    assert single["alerts_all"].seed == 2 and single["alerts_all"].cell.srs_mean == 38.5
    text = worst_text(worst_cases(cells))
    assert "MISS) at mean SRS 36.5, within-client SD 0.8" in text


def test_the_sweep_csv_has_a_row_per_seed_and_a_pooled_row_per_cell() -> None:
    rows = list(csv.DictReader(io.StringIO(csv_sweep([cell(37.0, 1.0), cell(37.5, 1.0, open_medium=0.5)]))))
    assert [row["seed"] for row in rows] == ["1", "2", "pooled"] * 2
    assert rows[-1]["misses"] == "1" and rows[0]["misses"] == "0"
    assert {figure.key for figure in FIGURES} <= set(rows[0])


def test_grid_includes_both_ends_without_float_noise() -> None:
    assert grid(0.8, 1.6, 0.2) == [0.8, 1.0, 1.2, 1.4, 1.6]
    assert grid(36.5, 38.5, 0.5) == [36.5, 37.0, 37.5, 38.0, 38.5]
