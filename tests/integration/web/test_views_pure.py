"""The pure parts of the views (no servers): the demo history tells the stories it promises, links and
session cookies refuse what they should, and the caseload puts the clients most in need first."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from devstack import demo
from services.scoring import domain
from services.scoring.clients import ClientRecord
from services.scoring.projection import alliance_view
from services.scoring.service import assess
from services.scoring.views import ClientAlliance
from services.scoring.web import figures
from services.scoring.web.access import SessionCookies, ViewLink, ViewLinks, ViewSession
from tests.integration.web.conftest import demo_events

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def demo_alliances() -> dict[str, ClientAlliance]:
    records: dict[str, ClientRecord] = {}
    for event in demo_events("demo", NOW, demo.CLIENTS):
        records.setdefault(event.data.client_id, ClientRecord("demo", event.data.client_id)).events[
            event.id
        ] = event
    return {
        client_id: alliance_view(assess(record, domain.Thresholds())) for client_id, record in records.items()
    }


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


def test_the_clinic_figures_follow_the_one_in_ten_guide() -> None:
    found = figures.clinic_figures(demo_alliances().values(), NOW)
    assert found.clinic.active_clients == 5 and found.clinic.with_open_episode == 2
    assert found.clinic.open_share == pytest.approx(0.4) and found.clinic.guide.startswith("well above")
    assert found.clinic.repair_rate == 1.0 and found.clinic.median_sessions_to_repair == 2
    assert [o.client_id for o in found.open_episodes] == ["c-stale", "c-blind-spot"]
    assert found.therapists["t-demo-2"].open_share == 0.5


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
