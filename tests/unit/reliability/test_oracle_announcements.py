"""The oracle's expected read model carries the announcements scoring records: the alerts of each episode and
whether they were from imported history, decided by when each event reached the platform."""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from reliability.judge import _inbound_position
from reliability.oracle import ClientKey, Expectation, Produced, expect, inbound_event
from reliability.stream import StreamItem, generate
from services.scoring import domain
from services.scoring.clients import ClientRecord
from services.scoring.projection import alliance_view
from services.scoring.service import _apply, _inbound
from services.scoring.views import ClientAlliance
from shared.contracts import encode

# One clinic, every planted pattern (ruptures repaired, declines, no-shows, missing feedback), 8 weeks.
ITEMS = generate(clinics=1, therapists=2, clients=3, sessions=8, prefix="unit-")
EVENT_IDS = {item.item_id: f"event-{n}" for n, item in enumerate(ITEMS)}
HORIZON = timedelta(days=domain.Thresholds().push_horizon_days)
Arrival = Callable[[StreamItem], datetime]


def session_at(item: StreamItem) -> datetime:
    return datetime.fromisoformat(item.body.get("occurred_at") or item.body["session_at"])


def live(item: StreamItem) -> datetime:
    """Each event reaches the platform the hour after its session."""
    return session_at(item) + timedelta(hours=1)


LAST_SESSION = max(session_at(item) for item in ITEMS)


def imported(item: StreamItem) -> datetime:
    """The whole history arrives at once, two months after its last session."""
    return LAST_SESSION + timedelta(days=60)


def backfilled(item: StreamItem) -> datetime:
    """The first five weeks arrive together at the start of week six, the rest live: early alerts are history."""
    return max(live(item), session_at(ITEMS[0]) + timedelta(weeks=5))


def produced_at(arrival: Arrival) -> dict[str, Produced]:
    return {EVENT_IDS[item.item_id]: Produced(offset, arrival(item)) for offset, item in enumerate(ITEMS)}


def episodes(view: ClientAlliance) -> list[tuple[str, bool, list[str]]]:
    everyone = [*view.past_episodes, *([view.open_episode] if view.open_episode else [])]
    return sorted((e.rupture_id, e.from_history, [a.level for a in e.alerts]) for e in everyone)


def all_episodes(expectation: Expectation) -> list[tuple[str, bool, list[str]]]:
    return sorted(e for client in expectation.assessments for e in episodes(expectation.alliance(client)))


def test_alerts_that_arrive_live_are_news_and_shown_on_their_episodes() -> None:
    expectation = expect(ITEMS, EVENT_IDS, produced=produced_at(live))

    assert expectation.alerts and expectation.from_history == set()
    shown = all_episodes(expectation)
    assert {(rupture_id, severity) for rupture_id, severity, _ in expectation.alerts} <= {
        (rupture_id, level) for rupture_id, _, levels in shown for level in levels
    }
    assert not any(from_history for _, from_history, _ in shown)
    assert any(levels for _, _, levels in shown)


def test_an_imported_history_announces_the_same_alerts_from_history_and_owes_no_delivery() -> None:
    news = expect(ITEMS, EVENT_IDS, produced=produced_at(live))
    history = expect(ITEMS, EVENT_IDS, produced=produced_at(imported))

    assert history.alerts == set() and history.alert_details == {}  # nothing for notify to push
    assert history.from_history == news.alerts
    alerted = [(rupture_id, levels) for rupture_id, _, levels in all_episodes(history) if levels]
    assert alerted and [(r, levels) for r, _, levels in all_episodes(news) if levels] == alerted
    assert all(from_history for _, from_history, levels in all_episodes(history) if levels)
    for client, log in history.emitted.items():
        assert log.from_history == {eid for eid, _ in log.alerted}, client


def test_a_backfill_makes_history_of_the_early_alerts_and_news_of_the_late_ones() -> None:
    expectation = expect(ITEMS, EVENT_IDS, produced=produced_at(backfilled))

    assert expectation.alerts and expectation.from_history
    week_six = session_at(ITEMS[0]) + timedelta(weeks=5)
    for key, alert in expectation.alert_details.items():  # news: announced in week six or later
        assert week_six - alert.session_at <= HORIZON, key


def stored_by_scoring(arrival: Arrival) -> dict[ClientKey, ClientAlliance]:
    """What scoring stores, each event applied by the service's own unit of work in production order."""
    records: dict[ClientKey, ClientRecord] = {}
    views: dict[ClientKey, ClientAlliance] = {}
    for item in ITEMS:
        key = (item.clinic_id, item.client_id)
        record = records.setdefault(key, ClientRecord(*key))
        event = inbound_event(item, EVENT_IDS[item.item_id], arrival(item))
        change = _apply(record, event, _inbound(event), domain.Thresholds(), None)
        assert change is not None
        views[key] = alliance_view(change[0], record.emitted)
    return views


@pytest.mark.parametrize("arrival", [live, imported, backfilled], ids=["live", "imported", "backfilled"])
def test_the_oracle_expects_exactly_the_read_model_scoring_stores(arrival: Arrival) -> None:
    expectation = expect(ITEMS, EVENT_IDS, produced=produced_at(arrival))
    stored = stored_by_scoring(arrival)

    assert set(stored) == set(expectation.assessments)
    for client, view in stored.items():
        assert expectation.alliance(client) == view, client


def test_an_imported_view_differs_from_a_live_one_so_the_comparison_can_tell() -> None:
    news = expect(ITEMS, EVENT_IDS, produced=produced_at(live))
    stored = stored_by_scoring(imported)

    assert any(news.alliance(client) != view for client, view in stored.items())


def record(event_id: str, offset: int, time: datetime | None) -> SimpleNamespace:
    """A record of ``client.events`` as the judge reads it back."""
    document = json.loads(encode(inbound_event(ITEMS[0], event_id, time or live(ITEMS[0]))))
    if time is None:
        del document["time"]
    return SimpleNamespace(value=json.dumps(document).encode(), offset=offset)


def test_the_judge_reads_each_event_s_offset_and_the_time_it_reached_the_platform() -> None:
    keep = _inbound_position("unit-")
    at = datetime.fromisoformat("2026-11-02T10:00:00+00:00")

    assert keep(record("e-1", 5, at)) == ("e-1", Produced(5, at))
    assert keep(record("e-1", 6, None)) is None  # no time: not an event scoring applies
    assert _inbound_position("other-")(record("e-1", 5, at)) is None
