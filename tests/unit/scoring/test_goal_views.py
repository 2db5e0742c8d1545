"""The goals and the expected curve as the views show them (DOMAIN.md version 2): the read model's goals built from
the stored events the way scoring stores them (texts from the events, slots from the domain), the client view's
trajectory rows, and the client's own page, which picks the client's ratings and nothing of the therapist's."""

import html
import json
import math
import re
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.scoring import domain
from services.scoring.clients import ClientRecord
from services.scoring.domain.trajectories import BandFit, ExpectedTrajectories, IntakeBand, TrajectoryModel
from services.scoring.projection import alliance_view, goal_views
from services.scoring.service import assess
from services.scoring.translate import fact_from
from services.scoring.views import ClientAlliance, GoalView
from services.scoring.web import progress, wording
from services.scoring.web.access import ViewLink, ViewSession
from services.scoring.web.client_page import GoalForClient, client_page, goal_line
from services.scoring.web.routes.client import view_context
from services.scoring.web.routes.pages import STATIC_URL, TEMPLATES
from shared.contracts import (
    FEEDBACK_SUBMITTED,
    GOAL_CLOSED,
    GOALS_AGREED,
    SESSION_COMPLETED,
    CloudEvent,
    FeedbackSubmittedV2,
    Goal,
    GoalClosedV1,
    GoalsAgreedV1,
    SessionCompletedV1,
)

CLINIC, CLIENT, THERAPIST = "clinic-g", "client-g", "t-g"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SOURCE = "/tests/goal-views"


def at(n: int) -> datetime:
    return T0 + timedelta(weeks=n - 1)


def sid(n: int) -> str:
    return f"s{n:02d}"


def held(n: int) -> CloudEvent[Any]:
    data = SessionCompletedV1(
        session_id=sid(n),
        therapist_id=THERAPIST,
        client_id=CLIENT,
        occurred_at=at(n),
        attendance="attended",  # validated into the enum
        scheduled_minutes=50,
    )
    return SESSION_COMPLETED.envelope(
        data, clinic_id=CLINIC, client_id=CLIENT, source=SOURCE, event_id=f"sc-{n}"
    )


def rated(n: int, instrument: str, items: dict[str, float], respondent: str = "client") -> CloudEvent[Any]:
    data = FeedbackSubmittedV2.model_validate(
        {
            "session_id": sid(n),
            "therapist_id": THERAPIST,
            "client_id": CLIENT,
            "session_at": at(n),
            "instrument": instrument,
            "respondent": respondent,
            "items": items,
            "submitted_at": at(n) + timedelta(hours=1),
        }
    )
    return FEEDBACK_SUBMITTED.envelope(
        data, clinic_id=CLINIC, client_id=CLIENT, source=SOURCE, event_id=f"fb-{n}-{instrument}-{respondent}"
    )


def gbo(n: int, respondent: str = "client", **items: float) -> CloudEvent[Any]:
    return rated(n, "gbo", items, respondent)


def ors(n: int, total: float) -> CloudEvent[Any]:
    """An ORS of ``total``: three items of a quarter of it to one decimal, the rest on the fourth."""
    part = round(total / 4, 1)
    values = [part, part, part, round(total - 3 * part, 1)]
    return rated(
        n, "ors", dict(zip(("individual", "interpersonal", "social", "overall"), values, strict=True))
    )


def agreed(n: int, *goals: tuple[str, str], minutes: int = 50) -> CloudEvent[Any]:
    data = GoalsAgreedV1(
        client_id=CLIENT,
        therapist_id=THERAPIST,
        session_id=sid(n),
        session_at=at(n),
        goals=[Goal(goal_id=goal_id, text=text) for goal_id, text in goals],
        agreed_at=at(n) + timedelta(minutes=minutes),
    )
    return GOALS_AGREED.envelope(
        data, clinic_id=CLINIC, client_id=CLIENT, source=SOURCE, event_id=f"agreed-{n}-{minutes}"
    )


def closed(n: int, goal_id: str, outcome: str) -> CloudEvent[Any]:
    data = GoalClosedV1(
        client_id=CLIENT,
        therapist_id=THERAPIST,
        session_id=sid(n),
        session_at=at(n),
        goal_id=goal_id,
        outcome=outcome,  # validated into the enum
        closed_at=at(n) + timedelta(minutes=55),
    )
    return GOAL_CLOSED.envelope(
        data, clinic_id=CLINIC, client_id=CLIENT, source=SOURCE, event_id=f"closed-{n}-{goal_id}"
    )


def stored(events: list[CloudEvent[Any]], thresholds: domain.Thresholds | None = None) -> ClientAlliance:
    """The read model as scoring stores it: the record's assessment, with the texts from its stored events."""
    record = ClientRecord(CLINIC, CLIENT)
    for event in events:
        record.add_event(event, fact_from(event))
    assessment = assess(record, thresholds or domain.Thresholds())
    return alliance_view(assessment, record.emitted).model_copy(
        update={"goals": goal_views(assessment, record.events.values())}
    )


SLEEP = ("g-sleep", "Sleep through most nights")
FRIENDS = ("g-friends", "See a friend once a week")
WORK = ("g-work", "Go back to work part-time")


def by_id(alliance: ClientAlliance) -> dict[str, GoalView]:
    return {goal.goal_id: goal for goal in alliance.goals}


def ratings(goal: GoalView) -> list[tuple[str, float | None, float | None]]:
    return [(r.session_id, r.client, r.therapist) for r in goal.ratings]


def test_agreed_goals_carry_their_words_session_slot_and_both_sides_ratings() -> None:
    alliance = stored(
        [
            *(held(n) for n in (1, 2, 3)),
            agreed(1, SLEEP, FRIENDS),
            gbo(2, goal_1=3, goal_2=5),
            gbo(2, "therapist", goal_1=4, goal_2=1),
            gbo(3, "therapist", goal_2=2),  # the client did not rate session 3
        ]
    )
    sleep, friends = alliance.goals
    assert (sleep.goal_id, sleep.text, sleep.slot, sleep.status) == ("g-sleep", SLEEP[1], 1, "active")
    assert (friends.goal_id, friends.slot, friends.agreed_session_id) == ("g-friends", 2, sid(1))
    assert friends.agreed_at == at(1) + timedelta(minutes=50)
    assert (sleep.outcome, sleep.closed_at, sleep.closed_session_id) == (None, None, None)
    assert ratings(sleep) == [(sid(2), 3.0, 4.0)]
    assert ratings(friends) == [(sid(2), 5.0, 1.0), (sid(3), None, 2.0)]


def test_a_closed_goal_keeps_its_sessions_ratings_and_its_slot_stays_empty() -> None:
    alliance = stored(
        [
            *(held(n) for n in (1, 2, 3)),
            agreed(1, SLEEP, FRIENDS),
            gbo(2, goal_1=8, goal_2=4),
            closed(2, "g-sleep", "met"),
            gbo(3, goal_1=9, goal_2=6),  # goal_1 names an empty slot now: it rates no goal
        ]
    )
    friends, sleep = alliance.goals  # the active one first
    assert (sleep.status, sleep.outcome, sleep.closed_session_id, sleep.slot) == (
        "closed",
        "met",
        sid(2),
        None,
    )
    assert sleep.closed_at == at(2) + timedelta(minutes=55)
    assert ratings(sleep) == [(sid(2), 8.0, None)]  # the closing session's own rating counts
    assert (friends.status, friends.slot) == ("active", 2)
    assert ratings(friends) == [(sid(2), 4.0, None), (sid(3), 6.0, None)]


def test_a_revision_replaces_the_list_and_a_goal_left_out_ends_as_replaced() -> None:
    reworded = ("g-friends", "See a friend twice a week")
    alliance = stored(
        [
            *(held(n) for n in (1, 2, 3, 4)),
            agreed(1, SLEEP, FRIENDS),
            gbo(2, goal_1=2, goal_2=3),
            agreed(3, reworded, WORK),  # sleep left out, friends reworded and moved to goal_1
            gbo(3, goal_1=5, goal_2=1),
            closed(4, "g-work", "dropped"),
        ]
    )
    goals = by_id(alliance)
    assert [g.goal_id for g in alliance.goals] == ["g-friends", "g-work", "g-sleep"]  # latest ended first
    assert (goals["g-friends"].slot, goals["g-friends"].text) == (1, reworded[1])
    assert goals["g-friends"].agreed_session_id == sid(1)  # first agreed there, kept since
    assert ratings(goals["g-friends"]) == [(sid(2), 3.0, None), (sid(3), 5.0, None)]
    sleep = goals["g-sleep"]
    assert (sleep.status, sleep.outcome, sleep.closed_session_id) == ("closed", "replaced", sid(3))
    assert sleep.closed_at == at(3) + timedelta(minutes=50)  # when the revision was agreed
    work = goals["g-work"]
    assert (work.status, work.outcome, work.agreed_session_id) == ("closed", "dropped", sid(3))
    assert ratings(work) == [(sid(3), 1.0, None)]


def test_of_two_agreements_in_one_session_the_latest_counts() -> None:
    alliance = stored([held(1), agreed(1, SLEEP, minutes=10), agreed(1, FRIENDS, WORK, minutes=40)])
    assert [(g.goal_id, g.slot) for g in alliance.goals] == [("g-friends", 1), ("g-work", 2)]


def test_a_client_without_goals_has_none_and_the_domain_never_holds_the_words() -> None:
    assert stored([held(1), ors(1, 20)]).goals == []
    fact = fact_from(agreed(1, SLEEP))
    assert SLEEP[1] not in repr(fact)  # the words live in the stored event only, like a note's
    assert ClientAlliance.model_fields["goals"].default_factory is not None  # older documents validate


def test_the_goal_charts_follow_the_views_order_and_skip_unrated_goals() -> None:
    alliance = stored([held(1), held(2), agreed(1, SLEEP, FRIENDS), gbo(2, "therapist", goal_2=6)])
    charts = progress.goal_charts(alliance.goals)
    assert charts == [
        {
            "canvas": "goal-chart-2",  # the second goal of the view: the first has no rating to draw
            "goal_id": "g-friends",
            "labels": [f"{at(2):%Y-%m-%d}"],
            "session_ids": [sid(2)],
            "client": [None],
            "therapist": [6.0],
        }
    ]
    assert [g.goal_id for g in progress.active_goals(list(reversed(alliance.goals)))] == [
        "g-sleep",
        "g-friends",
    ]


def test_goal_status_in_words() -> None:
    alliance = stored([held(1), held(2), agreed(1, SLEEP, FRIENDS), closed(2, "g-sleep", "met")])
    friends, sleep = alliance.goals
    assert (
        wording.goal_status_words(friends)
        == f"Active, rated as goal 2; agreed {at(1):%Y-%m-%d} (session s01)"
    )
    assert wording.goal_status_words(sleep).startswith(f"Met on {at(2):%Y-%m-%d} (session s02)")


# ---- the expected curve ----------------------------------------------------------------------------------

FIT = BandFit(IntakeBand.FROM_15, b=3.0, lower_offset=-2.5, clients=42, observations=300)


def expected(scope: str = "clinic") -> ExpectedTrajectories:
    model = TrajectoryModel("2026-03-01.1", scope, (FIT,))
    return ExpectedTrajectories(clinic=model) if scope == "clinic" else ExpectedTrajectories(platform=model)


def ors_story(*totals: float) -> list[CloudEvent[Any]]:
    return [event for n, total in enumerate(totals, start=1) for event in (held(n), ors(n, total))]


def judged(margin: str = "1", run: int = 1, **rest: Any) -> domain.Thresholds:
    """Thresholds with the test's curve and the not_on_track settings named, whatever the defaults."""
    return domain.Thresholds(
        trajectories=expected(), not_on_track_margin=Decimal(margin), not_on_track_run=run, **rest
    )


def test_the_clients_change_from_intake_beside_the_expected_curve_and_its_lower_limit() -> None:
    thresholds = judged(margin="1.5")
    # Intake 16 (band 15–19.9); then +1, −2, +5: at t = 3 the change −2 is below 3·ln 3 − 2.5 − 1.5 ≈ −0.70.
    alliance = stored(ors_story(16, 17, 14, 21), thresholds)
    found = progress.trajectory(alliance, thresholds)
    assert found.intake == 16
    assert [row.t for row in found.rows] == [2, 3, 4, 5, 6, 7]  # 4 ORS and 3 more ahead
    assert [row.change for row in found.rows] == [1.0, -2.0, 5.0, None, None, None]
    assert [row.session_id for row in found.rows[:3]] == [sid(2), sid(3), sid(4)]
    assert found.rows[3].on is None
    assert [row.expected for row in found.rows] == [round(3 * math.log(t), 2) for t in range(2, 8)]
    # The limit the rule judges by: the fitted one less the clinic's margin.
    assert [row.lower_limit for row in found.rows] == [round(3 * math.log(t) - 4, 2) for t in range(2, 8)]
    # Below the limit only where not_on_track looks (t >= 3), and exactly where the domain marked it.
    assert [row.below for row in found.rows] == [False, True, False, False, False, False]
    marked = [any(m.code == "not_on_track" for m in s.markers) for s in alliance.sessions]
    assert marked == [False, False, True, False]
    assert "this clinic's own clients" in found.words and "model 2026-03-01.1" in found.words
    assert "42 clients" in found.words and "15 to 19.9" in found.words and "16" in found.words
    assert "less this clinic's margin of 1.5 points" in found.limit_words
    assert found.limit_words.endswith("From t = 3, a change below it is not on track.")
    assert found.chart == {
        "t": [2, 3, 4, 5, 6, 7],
        "change": [1.0, -2.0, 5.0, None, None, None],
        "expected": [row.expected for row in found.rows],
        "lower_limit": [row.lower_limit for row in found.rows],
    }


def test_where_the_rule_looks_from_is_the_clinics_setting() -> None:
    thresholds = judged(margin="0", not_on_track_from=4)
    found = progress.trajectory(stored(ors_story(16, 17, 14, 15), thresholds), thresholds)
    assert [row.below for row in found.rows[:3]] == [False, False, True]  # t = 3 is below, but not looked at
    assert found.limit_words.startswith("The lower limit is the curve's 25th percentile (three in four")
    assert "margin" not in found.limit_words and "From t = 4" in found.limit_words


def test_the_curve_stops_at_t_20_and_says_when_it_is_all_clinics() -> None:
    alliance = stored(ors_story(*([16.0] * 19)))
    thresholds = domain.Thresholds(trajectories=expected("platform"))
    found = progress.trajectory(alliance, thresholds)
    assert found.rows[-1].t == 20 and len(found.rows) == 19
    assert "the clients of all clinics" in found.words


@pytest.mark.parametrize(
    ("trajectories", "totals", "words"),
    [
        pytest.param(None, (16, 18), progress.NO_CURVE, id="nothing-fitted"),
        pytest.param(expected(), (8, 12), progress.NO_CURVE, id="another-band"),
        pytest.param(expected(), (), progress.NO_INTAKE, id="no-ors"),
    ],
)
def test_without_a_curve_the_view_says_why(
    trajectories: ExpectedTrajectories | None, totals: tuple[float, ...], words: str
) -> None:
    alliance = stored([held(1), *ors_story(*totals)])
    found = progress.trajectory(alliance, domain.Thresholds(trajectories=trajectories))
    assert found.rows == () and found.chart is None
    assert found.words.startswith(words)


def test_the_missing_curve_is_said_in_the_agreed_words() -> None:
    assert (
        progress.NO_CURVE == "No expected curve for this intake band yet (fewer than 30 comparable clients)"
    )


def test_marker_words_for_the_version_2_outcome_markers() -> None:
    thresholds = judged(margin="0")
    alliance = stored(ors_story(16, 17, 16), thresholds)
    marker = next(m for m in alliance.sessions[2].markers if m.code == "not_on_track")
    assert wording.marker_words(marker) == (
        "ORS change from intake +0.0, where +3.30 was expected, below the expected curve's lower limit +0.80 "
        "(model 2026-03-01.1) — medium"
    )


# ---- the client's own page -------------------------------------------------------------------------------


def test_the_clients_page_shows_their_goals_with_their_own_ratings_only() -> None:
    alliance = stored(
        [
            *(held(n) for n in (1, 2, 3, 4)),
            agreed(1, SLEEP, FRIENDS, WORK),
            gbo(2, goal_1=3, goal_2=6),
            gbo(2, "therapist", goal_1=9, goal_2=9, goal_3=9),
            gbo(3, goal_1=7),
            gbo(3, "therapist", goal_1=1, goal_3=2),
            closed(3, "g-friends", "met"),
            closed(4, "g-work", "dropped"),
        ]
    )
    page = client_page(alliance, at(4) + timedelta(days=1))
    sleep, work, friends = page.goals  # the active one, then the latest ended first
    assert (sleep.text, sleep.ended) == (SLEEP[1], None)
    assert [(p.session_id, p.rating) for p in sleep.points] == [(sid(2), 3.0), (sid(3), 7.0)]
    assert (sleep.first.rating, sleep.latest.rating) == (3.0, 7.0)  # type: ignore[union-attr]
    assert (friends.ended, friends.ended_on) == ("met", at(3) + timedelta(minutes=55))
    assert (work.ended, work.points) == ("ended", ())  # dropped: "ended" in the client's words
    therapist = {9.0, 1.0, 2.0}
    assert therapist.isdisjoint(p.rating for goal in page.goals for p in goal.points)
    # Built by picking: nothing of the therapist's, and no marker, has a field to travel in.
    assert {f.name for f in fields(GoalForClient)} == {"goal_id", "text", "ended", "ended_on", "points"}


def test_a_goals_line_spans_0_at_the_bottom_to_10_at_the_top() -> None:
    alliance = stored(
        [
            *(held(n) for n in (1, 2, 3, 4)),
            agreed(1, SLEEP),
            *(gbo(n, goal_1=v) for n, v in ((2, 10), (3, 0), (4, 5))),
        ]
    )
    (goal,) = client_page(alliance, at(5)).goals
    drawn = goal_line(goal)
    assert drawn is not None
    assert [y for _, y in drawn.dots] == [8.0, 112.0, 60.0]
    one = stored([held(1), held(2), agreed(1, SLEEP), gbo(2, goal_1=4)])
    assert goal_line(client_page(one, at(3)).goals[0]) is None  # one rating: no line
    assert wording.rating_words(7.0) == "7 out of 10"


# ---- the client view's page ------------------------------------------------------------------------------


def rendered(alliance: ClientAlliance, thresholds: domain.Thresholds) -> str:
    """The client view as its route renders it, for a therapist's link session."""
    session = ViewSession.of_link(ViewLink(CLINIC, "client", CLIENT, THERAPIST, "key-1"))
    context = {**view_context(alliance, thresholds, session), "session": session, "static": STATIC_URL}
    return TEMPLATES.env.get_template("client.html").render(context)


def test_the_client_view_draws_the_expected_curve_and_each_goals_ratings() -> None:
    thresholds = judged(margin="0")
    events = [
        *ors_story(16, 17, 16, 21),
        agreed(2, SLEEP, FRIENDS),
        gbo(3, goal_1=3, goal_2=6),
        gbo(3, "therapist", goal_1=5),
        gbo(4, goal_1=4),
    ]
    page = rendered(stored(events, thresholds), thresholds)
    words = re.search(r'<p id="trajectory-words">([^<]*)</p>', page)
    assert words is not None and "this clinic&#39;s own clients" in words.group(1)
    rows = re.findall(r'<tr data-t="(\d+)">(.*?)</tr>', page, re.S)
    assert [t for t, _ in rows] == ["2", "3", "4", "5", "6", "7"]
    assert [re.sub(r"<[^>]+>|\s+", " ", cells).split()[-1] for _, cells in rows] == [
        "–",
        "yes",
        "no",
        "–",
        "–",
        "–",
    ]
    data = json.loads(html.unescape(re.search(r'id="progress-data">(.*?)</script>', page, re.S).group(1)))  # type: ignore[union-attr]
    assert data["trajectory"]["change"] == [1.0, 0.0, 5.0, None, None, None]
    assert [(g["canvas"], g["client"], g["therapist"]) for g in data["goals"]] == [
        ("goal-chart-1", [3.0, 4.0], [5.0, None]),
        ("goal-chart-2", [6.0], [None]),
    ]
    assert 'id="goal-chart-1"' in page and 'id="goal-chart-2"' in page
    # The revision form starts from the active goals, in their order.
    assert f'name="goal_1" maxlength="300" rows="2" required>{SLEEP[1]}</textarea>' in page
    assert f'name="goal_2" maxlength="300" rows="2">{FRIENDS[1]}</textarea>' in page
    assert 'name="goal_3" maxlength="300" rows="2"></textarea>' in page
    assert page.count('action="/views/clients/client-g/goals/') == 2  # a close form per active goal
