from decimal import Decimal

from services.scoring.domain import Severity

from .builders import assess


def test_summary_of_a_declining_client() -> None:
    summary = assess(["38", "37", "35", "29"]).summary
    assert (summary.session_count, summary.client_srs_count) == (4, 4)
    assert (summary.latest_session_id, summary.latest_srs_total) == ("s04", Decimal(29))
    assert summary.baseline == Decimal("34.75")  # (38 + 37 + 35 + 29) / 4
    assert summary.trend == Decimal("-2.90")  # least-squares points per session
    assert summary.latest_severity is Severity.HIGH
    assert (
        summary.open_episode is not None and summary.open_episode.opening_session_id == "s02"
    )  # 37 is a drop_from_last
    assert (summary.episode_count, summary.repaired_count, summary.resolved_by_hand_count) == (1, 0, 0)


def test_baseline_and_trend_use_the_last_five_totals() -> None:
    summary = assess(["10", "36", "37", "38", "39", "40", "attended"]).summary
    assert summary.baseline == Decimal("38.00")
    assert summary.trend == Decimal("1.00")
    assert summary.latest_srs_total == Decimal(40)
    assert summary.latest_session_id == "s07" and summary.session_count == 7 and summary.client_srs_count == 6


def test_summary_with_one_total_has_no_trend() -> None:
    summary = assess(["38"]).summary
    assert (summary.baseline, summary.trend, summary.latest_severity) == (Decimal(38), None, Severity.NONE)


def test_summary_of_a_client_without_sessions() -> None:
    summary = assess([]).summary
    assert summary.session_count == 0 and summary.latest_session_id is None
    assert (summary.baseline, summary.trend, summary.latest_srs_total, summary.open_episode) == (
        None,
        None,
        None,
        None,
    )
