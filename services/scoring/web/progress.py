"""Pure view models of the client view's progress sections (DOMAIN.md version 2): each agreed goal's ratings
over sessions, the client's beside the therapist's, and the client's ORS change from intake against the expected
curve of their intake band.

Like ``figures``, everything here reads the stored read model and the clinic's thresholds; nothing is
re-assessed on a read.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.scoring.domain.thresholds import Thresholds
from services.scoring.domain.trajectories import MAX_T, MIN_CLIENTS, IntakeBand, off_track
from services.scoring.views import ClientAlliance, GoalView
from services.scoring.web.figures import rating_total

EXTRA_T = 3  # sessions beyond the client's latest ORS the expected curve is drawn for: where they are heading
BAND_WORDS = {
    IntakeBand.BELOW_10: "below 10",
    IntakeBand.FROM_10: "10 to 14.9",
    IntakeBand.FROM_15: "15 to 19.9",
    IntakeBand.FROM_20: "20 to 24.9",
    IntakeBand.FROM_25: "25 or more",
}
NO_CURVE = f"No expected curve for this intake band yet (fewer than {MIN_CLIENTS} comparable clients)"
NO_INTAKE = "No ORS yet: the expected curve starts from the client's first ORS (their intake)"


# ---- goals -----------------------------------------------------------------------------------------------


def active_goals(goals: list[GoalView]) -> list[GoalView]:
    """The active goals in their gbo order: what the form to revise them starts from."""
    return sorted((g for g in goals if g.status == "active"), key=lambda g: g.slot or 0)


def goal_charts(goals: list[GoalView]) -> list[dict[str, Any]]:
    """What each goal's chart draws (the goals with ratings, in the view's order), as JSON-ready data: one
    point per session in which the client or the therapist rated the goal."""
    return [
        {
            "canvas": goal_canvas(n),
            "goal_id": goal.goal_id,
            "labels": [f"{r.occurred_at:%Y-%m-%d}" for r in goal.ratings],
            "session_ids": [r.session_id for r in goal.ratings],
            "client": [r.client for r in goal.ratings],
            "therapist": [r.therapist for r in goal.ratings],
        }
        for n, goal in enumerate(goals, start=1)
        if goal.ratings
    ]


def goal_canvas(n: int) -> str:
    """The canvas of the view's n-th goal: goal ids are another system's strings, so they name no element."""
    return f"goal-chart-{n}"


# ---- expected trajectory ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrajectoryRow:
    """The client's t-th session with an ORS (intake being t = 1), or a later t still ahead of them."""

    t: int
    session_id: str | None  # None: not reached yet
    on: datetime | None
    change: float | None  # the client's ORS total minus their intake
    expected: float
    lower_limit: float  # as not_on_track judges it: the fitted limit less the clinic's margin
    below: bool  # the change is below the limit where not_on_track looks (from the clinic's first t)


@dataclass(frozen=True)
class Trajectory:
    intake: float | None  # the client's first ORS total
    words: str  # which curve it is, or why there is none
    limit_words: str  # what the lower limit is and when being below it counts
    rows: tuple[TrajectoryRow, ...]  # t = 2 …; empty without a curve

    @property
    def chart(self) -> dict[str, Any] | None:
        if not self.rows:
            return None
        return {
            "t": [row.t for row in self.rows],
            "change": [row.change for row in self.rows],
            "expected": [row.expected for row in self.rows],
            "lower_limit": [row.lower_limit for row in self.rows],
        }


def trajectory(alliance: ClientAlliance, thresholds: Thresholds) -> Trajectory:
    """The client's change from intake at each of their sessions with an ORS, beside the expected change and the
    lower limit of their band's curve (``thresholds.trajectories``), for t = 2 … min(20, their ORS +
    ``EXTRA_T``). The limit and whether a change is below it are the rule's own (``off_track``, with the clinic's
    ``not_on_track_from`` and ``not_on_track_margin``)."""
    ors = [(s, total) for s in alliance.sessions if (total := rating_total(s, "ors", "client")) is not None]
    if not ors:
        return Trajectory(None, NO_INTAKE, "", ())
    intake = ors[0][1]
    expected = thresholds.trajectories
    chosen = expected.curve_for(intake) if expected is not None else None
    if chosen is None:
        words = f"{NO_CURVE}; this client's intake ORS: {intake:g}, band {_band(intake)}."
        return Trajectory(intake, words, "", ())
    fit = chosen.fit
    whose = "this clinic's own clients" if chosen.scope == "clinic" else "the clients of all clinics"
    version = f"model {chosen.version}, " if chosen.version else ""
    words = (
        f"Expected curve of {whose} whose intake ORS was {_band(intake)} ({version}fitted on {fit.clients} "
        f"clients with at least 4 ORS); this client's intake ORS: {intake:g}."
    )
    margin = float(thresholds.not_on_track_margin)
    first_t = thresholds.not_on_track_from
    totals = [total for _, total in ors]
    rows = []
    for t in range(2, min(MAX_T, len(ors) + EXTRA_T) + 1):
        reached = ors[t - 1] if t <= len(ors) else None
        rows.append(
            TrajectoryRow(
                t=t,
                session_id=reached[0].session_id if reached else None,
                on=reached[0].occurred_at if reached else None,
                change=round(reached[1] - intake, 2) if reached else None,
                expected=fit.shown_expected(t),
                lower_limit=fit.judged_limit(t, margin),
                below=reached is not None and off_track(totals[:t], chosen, first_t, margin) is not None,
            )
        )
    return Trajectory(intake, words, _limit_words(margin, first_t, thresholds.not_on_track_run), tuple(rows))


def _limit_words(margin: float, first_t: int, run: int) -> str:
    points = "point" if margin == 1 else "points"
    less = f", less this clinic's margin of {margin:g} {points}" if margin else ""
    in_a_row = "a change" if run == 1 else f"{run} changes in a row"
    return (
        f"The lower limit is the curve's 25th percentile (three in four comparable clients were above it){less}. "
        f"From t = {first_t}, {in_a_row} below it is not on track."
    )


def _band(intake: float) -> str:
    return BAND_WORDS[IntakeBand.of(intake)]
