"""The clinic figures' aggregate over stored read models: the alert rate's window and what it counts, and
settled episodes counted apart from repaired ones."""

from datetime import UTC, datetime, timedelta

import pytest

from services.scoring.clinic_figures import (
    PUSH_ALERT_BUDGET,
    ActiveClient,
    Window,
    clinic_figures,
    clinic_summary,
)
from services.scoring.views import (
    AlertView,
    ClientAlliance,
    EpisodeView,
    ResolutionName,
    ResolutionView,
    SummaryView,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def episode(
    n: int,
    therapist: str = "t-1",
    how: ResolutionName | None = None,
    alerts: tuple[tuple[str, float], ...] = (),
    from_history: bool = False,
    sessions_to_repair: int | None = None,
) -> EpisodeView:
    return EpisodeView(
        rupture_id=f"r-{n}",
        therapist_id=therapist,
        opening_session_id=f"s-{n}",
        opened_at=days_ago(30),
        severity="medium",
        stale=False,
        session_ids=[f"s-{n}"],
        sessions_since_opening=2,
        pre_episode_mean=37.0,
        resolution=ResolutionView(
            how=how,
            resolved_at=days_ago(20),
            session_id=f"s-{n}-end" if how != "manual" else None,
            sessions_to_repair=sessions_to_repair,
            note="n" if how == "manual" else None,
            resolved_by="sup" if how == "manual" else None,
        )
        if how
        else None,
        acknowledgement=None,
        from_history=from_history,
        alerts=[
            AlertView(level=level, session_id=f"s-{n}", session_at=days_ago(age)) for level, age in alerts
        ],
    )


def client(
    client_id: str, episodes: list[EpisodeView], session_ages: list[float], therapist: str = "t-1"
) -> ActiveClient:
    open_episode = next((e for e in episodes if e.resolution is None), None)
    summary = SummaryView(
        session_count=len(session_ages),
        client_srs_count=len(session_ages),
        latest_session_id=None,
        latest_session_at=days_ago(min(session_ages)),
        latest_srs_total=None,
        latest_severity="none",
        baseline=None,
        trend=None,
        episode_count=len(episodes),
        repaired_count=0,
        resolved_by_hand_count=0,
    )
    alliance = ClientAlliance(
        client_id=client_id,
        therapist_id=therapist,
        summary=summary,
        open_episode=open_episode,
        past_episodes=[e for e in episodes if e.resolution is not None],
        sessions=[],
    )
    return ActiveClient(alliance, tuple((days_ago(age), therapist) for age in session_ages))


def test_the_alert_rate_counts_pushed_alerts_and_sessions_in_the_window_only() -> None:
    live = episode(1, alerts=(("medium", 10), ("high", 3), ("stale", 1)))
    old = episode(
        2, how="repaired", sessions_to_repair=2, alerts=(("high", 95),)
    )  # session before the window
    imported = episode(3, therapist="t-2", how="settled", alerts=(("medium", 40),), from_history=True)
    found = clinic_figures(
        [
            client("c-1", [live, old], [1, 3, 10, 95, 120]),
            client("c-2", [imported], [40, 50, -2], therapist="t-2"),  # one session booked in the future
        ],
        NOW,
        window_days=90,
    )
    c = found.clinic
    assert (c.push_alerts, c.alerts_from_history, c.client_sessions) == (3, 1, 5)
    assert c.alert_rate == pytest.approx(0.6) and c.within_budget is False
    assert found.therapists["t-1"].alert_rate == pytest.approx(1.0)
    assert found.therapists["t-2"].alert_rate == 0.0 and found.therapists["t-2"].within_budget is True
    summary = clinic_summary(found, active_days=90)
    assert summary.push_alert_budget == PUSH_ALERT_BUDGET == 0.06
    assert (summary.push_alerts, summary.client_sessions, summary.within_budget) == (3, 5, False)


def test_settled_is_counted_apart_from_repaired_and_by_hand() -> None:
    episodes = [
        episode(1, how="repaired", sessions_to_repair=1),
        episode(2, how="repaired", sessions_to_repair=3),
        episode(3, how="settled"),
        episode(4, how="manual"),
        episode(5),
    ]
    c = clinic_figures([client("c-1", episodes, [2])], NOW, window_days=90).clinic
    assert (c.closed, len(c.repaired), c.settled, c.by_hand) == (4, 2, 1, 1)
    assert (c.repair_rate, c.settle_rate, c.median_sessions_to_repair) == (0.5, 0.25, 2)
    assert c.with_open_episode == 1


def test_without_sessions_in_the_window_there_is_no_rate() -> None:
    found = clinic_figures([], NOW, window_days=90)
    assert found.clinic.alert_rate is None and found.clinic.within_budget is None
    assert found.clinic.budget_note == "no sessions in the window"
    assert clinic_summary(found, 90).push_alerts_per_client_session is None


def test_the_window_holds_both_ends() -> None:
    window = Window.last(90, NOW)
    assert window.holds(NOW) and window.holds(days_ago(90))
    assert not window.holds(days_ago(90.001)) and not window.holds(NOW + timedelta(seconds=1))
