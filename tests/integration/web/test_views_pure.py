"""The pure parts of the views (no servers): the demo history tells the stories it promises, links and
session cookies refuse what they should, and the caseload puts the clients most in need first."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from devstack import demo
from services.scoring import clinic_figures, domain
from services.scoring.clinic_figures import ActiveClient
from services.scoring.projection import alliance_view
from services.scoring.service import assess
from services.scoring.views import ClientAlliance
from services.scoring.web import figures, wording
from services.scoring.web.access import SessionCookies, ViewLink, ViewLinks, ViewSession
from tests.integration.web.conftest import IMPORTED_CLIENTS, announce, demo_events, records_of

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def demo_alliances(
    clients: tuple[demo.DemoClient, ...] = demo.CLIENTS, imported_at: datetime | None = None
) -> dict[str, ClientAlliance]:
    alliances = {}
    for client_id, record in records_of("demo", demo_events("demo", NOW, clients)).items():
        assessment = assess(record, domain.Thresholds())
        announce(record, assessment, imported_at)
        alliances[client_id] = alliance_view(assessment, record.emitted)
    return alliances


def active(alliances: dict[str, ClientAlliance]) -> list[ActiveClient]:
    return [
        ActiveClient(a, tuple((s.occurred_at, s.therapist_id) for s in a.sessions if s.counts))
        for a in alliances.values()
    ]


def test_the_demo_history_holds_a_repair_a_stale_episode_and_a_blind_spot() -> None:
    alliances = demo_alliances()
    repaired = alliances["c-rupture-repair"]
    assert repaired.open_episode is None
    (episode,) = repaired.past_episodes
    assert episode.resolution is not None and episode.resolution.how == "repaired"
    assert episode.resolution.sessions_to_repair == 2
    stale = alliances["c-stale"].open_episode
    assert stale is not None and stale.stale and stale.severity == "high"
    blind = alliances["c-blind-spot"]
    assert blind.open_episode is not None and not blind.open_episode.stale
    assert "blindspot" in [m.code for m in blind.sessions[7].markers]
    for steady in ("c-steady", "c-steady-2"):
        assert alliances[steady].summary.episode_count == 0
    # Every session is within the last ten weeks, so the clinic view counts each client as active.
    assert all(NOW - timedelta(weeks=10) < a.summary.latest_session_at <= NOW for a in alliances.values())  # type: ignore[operator]


def test_the_caseload_puts_open_episodes_first_then_the_steepest_decline() -> None:
    alliances = demo_alliances()
    rows = figures.caseload_rows(
        [(a, [s.srs_total for s in a.sessions if s.srs_total is not None]) for a in alliances.values()], NOW
    )
    order = [row.client_id for row in rows]
    assert order[:2] == ["c-stale", "c-blind-spot"]  # high and stale, then high
    rest = rows[2:]
    trends = [row.summary.trend for row in rest]
    assert trends == sorted(t for t in trends if t is not None)
    assert rows[0].days_since == 3


def test_the_clinic_figures_follow_the_one_in_ten_guide_and_the_alert_budget() -> None:
    found = clinic_figures.clinic_figures(active(demo_alliances()), NOW, window_days=90)
    assert found.clinic.active_clients == 5 and found.clinic.with_open_episode == 2
    assert found.clinic.open_share == pytest.approx(0.4) and found.clinic.guide.startswith("well above")
    assert found.clinic.repair_rate == 1.0 and found.clinic.median_sessions_to_repair == 2
    assert [o.client_id for o in found.open_episodes] == ["c-stale", "c-blind-spot"]
    assert found.therapists["t-demo-2"].open_share == 0.5
    # Announced live: the high alerts of three episodes and one stale escalation, in 50 sessions.
    assert (found.clinic.push_alerts, found.clinic.client_sessions) == (4, 50)
    assert found.clinic.alert_rate == pytest.approx(0.08) and found.clinic.within_budget is False
    assert found.clinic.budget_note.startswith("above the budget")
    assert found.therapists["t-demo-1"].alert_rate == pytest.approx(3 / 30)


def test_an_imported_history_is_shown_but_not_counted_as_pushed_and_settling_is_not_repair() -> None:
    alliances = demo_alliances(IMPORTED_CLIENTS, imported_at=NOW)
    stale = alliances["c-stale"].open_episode
    assert stale is not None and stale.from_history
    assert [a.level for a in stale.alerts] == ["high", "stale"]
    assert wording.stale_words(stale) == "still open after 5 sessions and still hurting"
    low = alliances["c-usual-low"]
    assert [e.resolution.how for e in low.past_episodes if e.resolution] == ["settled"] * 3
    assert low.summary.settled_count == 3 and low.summary.repaired_count == 0
    marker = low.sessions[3].markers[0]
    assert (marker.code, marker.level) == ("below_cutoff", "low")
    assert "but this is the client's usual" in wording.marker_words(marker)
    assert "usual" not in wording.marker_words(low.sessions[0].markers[0])  # no baseline yet: medium
    found = clinic_figures.clinic_figures(active(alliances), NOW, window_days=90)
    c = found.clinic
    assert (c.push_alerts, c.alerts_from_history, c.client_sessions) == (0, 5, 60)
    assert c.alert_rate == 0.0 and c.within_budget is True
    assert (len(c.repaired), c.settled, c.by_hand, c.closed) == (1, 3, 0, 4)
    assert (c.repair_rate, c.settle_rate) == (0.25, 0.75)


def test_a_view_link_opens_only_while_valid_and_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    links = ViewLinks("secret", "http://views.example/", max_age_days=14)
    link = ViewLink("clinic-a", "client", "c-1", "t-1", "key-1")
    token = links.url(link).rsplit("/", 1)[1]
    assert links.url(link).startswith("http://views.example/views/links/")
    assert links.read(token) == link
    middle = len(token) - 10  # a character in the middle of the signature carries whole bits
    assert links.read(token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]) is None
    assert ViewLinks("another secret", "http://x", 14).read(token) is None
    real = time.time()
    monkeypatch.setattr(time, "time", lambda: real - 15 * 86400)
    old = links.url(link).rsplit("/", 1)[1]
    monkeypatch.undo()
    assert links.read(old) is None  # fifteen days old


def test_a_session_cookie_cannot_be_forged_or_widened() -> None:
    cookies = SessionCookies("secret", max_age_hours=8, secure=False)
    session = ViewSession.of_link(ViewLink("clinic-a", "caseload", "t-1", "t-1", "key-1"))
    loaded = cookies.load(cookies.dump(session))
    assert loaded == session
    assert loaded.may_see_caseload("t-1") and not loaded.may_see_caseload("t-2")
    assert loaded.may_see_client("c-1", "t-1") and not loaded.may_see_client("c-2", "t-2")
    assert SessionCookies("other", 8, False).load(cookies.dump(session)) is None
    assert cookies.load("not a cookie") is None
    assert not ViewSession.anonymous().may_see_client("c-1", "t-1")
    assert session.csrf_matches(session.csrf) and not session.csrf_matches(None)
    assert not session.csrf_matches(ViewSession.anonymous().csrf)
