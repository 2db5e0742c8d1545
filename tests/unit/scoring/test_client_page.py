"""What a client's own page takes from their alliance read model, and what it leaves out (DOMAIN.md version 2)."""

from dataclasses import fields
from datetime import timedelta

import pytest

from services.scoring.projection import alliance_view
from services.scoring.views import ClientAlliance, NoteView
from services.scoring.web.client_page import ClientPage, client_page, line

from .builders import THERAPIST, assess, session_at, session_id

# Client SRS and ORS, the therapist's ratings of both, rupture reports, a note, markers and an episode.
STORY = [
    "38+ors=20+tsrs=39+tors=25",
    "30+ors=22+tsrs=37+psq=4/2+tpsq=0",
    "31+ors=24+note=partly",
    "35+ors=26",
]
AFTER = session_at(len(STORY)) + timedelta(days=1)


def alliance(specs: list[str]) -> ClientAlliance:
    return alliance_view(assess(specs))


def test_the_page_has_the_clients_own_totals_in_session_order() -> None:
    page = client_page(alliance(STORY), AFTER)
    assert [p.total for p in page.sessions_felt.points] == [38, 30, 31, 35]
    assert [p.total for p in page.doing.points] == [20, 22, 24, 26]
    assert (page.doing.first.total, page.doing.latest.total) == (20, 26)  # type: ignore[union-attr]
    assert [p.session_id for p in page.sessions_felt.points] == [session_id(n) for n in range(1, 5)]


def test_the_page_has_no_place_for_anything_clinical() -> None:
    """Built by picking, not hiding: the page's types have no field a marker, a severity, an episode or a
    therapist's rating could travel in."""
    view = alliance(STORY)
    assert view.open_episode or view.past_episodes, "the story needs an episode to leave out"
    names = {f.name for f in fields(ClientPage)}
    assert names == {"client_id", "sessions_felt", "doing", "notes", "latest_session", "goals"}
    page = client_page(view, AFTER)
    therapist = {39.0, 37.0, 25.0}
    assert therapist.isdisjoint(p.total for p in (*page.sessions_felt.points, *page.doing.points))


def test_each_note_carries_its_sessions_time_and_the_latest_answer() -> None:
    view = alliance(STORY)
    shared = NoteView(
        note_id="n-3",
        session_id=session_id(3),
        therapist_id=THERAPIST,
        shared_at=session_at(3) + timedelta(hours=3),
        text="Next: one thing you enjoy, every day.",
        fit="partly",
        comment="Maybe two things.",
    )
    page = client_page(view.model_copy(update={"notes": [shared]}), AFTER)
    (note,) = page.notes
    assert (note.session_at, note.fit, note.comment) == (session_at(3), "partly", "Maybe two things.")


@pytest.mark.parametrize(
    ("specs", "now_after", "expected"),
    [
        pytest.param(["38", "36"], 2, ("s02", True), id="latest-rated"),
        pytest.param(["38", "ors=30"], 2, ("s02", False), id="latest-without-srs-waits-for-a-rating"),
        pytest.param(["38", "no_show"], 2, ("s01", True), id="a-session-not-held-is-not-offered"),
        pytest.param(["38", "ors=30"], 1, ("s01", True), id="a-session-still-ahead-is-not-offered"),
    ],
)
def test_the_latest_session_to_rate(specs: list[str], now_after: int, expected: tuple[str, bool]) -> None:
    latest = client_page(alliance(specs), session_at(now_after) + timedelta(hours=1)).latest_session
    assert latest is not None and (latest.session_id, latest.rated) == expected


def test_the_chart_line_spans_the_scale_from_0_at_the_bottom_to_40_at_the_top() -> None:
    page = client_page(alliance(["40", "0", "20"]), AFTER)
    drawn = line(page.sessions_felt)
    assert drawn is not None
    (x0, top), (_, bottom), (x2, middle) = drawn.dots
    assert (top, bottom, middle) == (8.0, 112.0, 60.0)
    assert x0 < x2
    assert line(client_page(alliance(["40"]), AFTER).sessions_felt) is None
