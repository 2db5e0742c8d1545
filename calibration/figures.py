"""DOMAIN.md's alert budget: the five figures, their budgets, and how each is computed from replayed clients.

Definitions (also in docs/calibration/README.md):
- A client-session is one scheduled weekly session, held or missed: a missed session is still a week in which a
  clinician could have been alerted.
- Push alerts are the ``RuptureSuspected`` announcements, stale escalations included.
- "Active clients with an open medium or high episode, at a typical session": for each session index k (the
  k-th session of each client), the share of the clients who have a k-th session whose open episode, once that
  session's facts are in, is at medium or above; then the plain mean over the indices k. Every week of
  therapy weighs the same, whatever the number of clients still in therapy then.
- A planted rupture is "alerted in the session it starts" when an alert was announced while the facts of the
  drop's first session arrived, or when that session joined an open episode already alerted at high (alerts
  only go up, so nothing more could be announced for it). "Within 2 sessions": the same, at the drop's first
  or second session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from services.scoring.domain import Severity

from .replay import ClientOutcome

WITHIN_SESSIONS = 2  # "alerted within 2 sessions": the drop's first session and the one after it


class Bound(Enum):
    AT_MOST = "≤"
    AT_LEAST = "≥"


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    bound: Bound
    budget: float
    percent: bool  # shown as a percentage (a share of clients or ruptures) rather than a rate

    def passes(self, value: float) -> bool:
        return value <= self.budget if self.bound is Bound.AT_MOST else value >= self.budget

    def worse(self, a: float, b: float) -> bool:
        """Whether ``a`` is further from the budget's side than ``b``."""
        return a > b if self.bound is Bound.AT_MOST else a < b

    def shown(self, value: float) -> str:
        return f"{value * 100:.1f} %" if self.percent else f"{value:.4f}"

    @property
    def budget_shown(self) -> str:
        return f"{self.bound.value} {self.shown(self.budget)}"


FIGURES: tuple[Figure, ...] = (
    Figure(
        "alerts_unplanted",
        "push alerts per client-session, clients without a planted rupture",
        Bound.AT_MOST,
        0.03,
        False,
    ),
    Figure("alerts_all", "push alerts per client-session, all clients", Bound.AT_MOST, 0.06, False),
    Figure(
        "open_medium",
        "active clients with an open medium or high episode, at a typical session",
        Bound.AT_MOST,
        0.12,
        True,
    ),
    Figure(
        "detected_at_start", "planted ruptures alerted in the session they start", Bound.AT_LEAST, 0.90, True
    ),
    Figure(
        f"detected_within_{WITHIN_SESSIONS}",
        f"planted ruptures alerted within {WITHIN_SESSIONS} sessions",
        Bound.AT_LEAST,
        0.97,
        True,
    ),
)


@dataclass(frozen=True)
class Row:
    figure: Figure
    value: float

    @property
    def passes(self) -> bool:
        return self.figure.passes(self.value)


def alerts_per_session(outcomes: Sequence[ClientOutcome], include: Callable[[ClientOutcome], bool]) -> float:
    chosen = [o for o in outcomes if include(o)]
    sessions = sum(len(o.sessions) for o in chosen)
    return sum(o.alerts for o in chosen) / sessions if sessions else 0.0


def open_medium_share(outcomes: Sequence[ClientOutcome]) -> float:
    """Mean over session indices of the share of clients at that index with an open episode ≥ medium."""
    longest = max((len(o.sessions) for o in outcomes), default=0)
    shares = []
    for k in range(longest):
        active = [o.sessions[k] for o in outcomes if len(o.sessions) > k]
        shares.append(sum(s.open_severity >= Severity.MEDIUM for s in active) / len(active))
    return sum(shares) / len(shares) if shares else 0.0


def detected_share(outcomes: Sequence[ClientOutcome], within: int) -> float:
    """Share of planted ruptures alerted at one of their first ``within`` sessions (see the module's doc)."""
    planted = [o for o in outcomes if o.rupture_start is not None]
    if not planted:
        return 0.0
    return sum(_detected(o, within) for o in planted) / len(planted)


def _detected(outcome: ClientOutcome, within: int) -> bool:
    assert outcome.rupture_start is not None
    window = outcome.sessions[outcome.rupture_start : outcome.rupture_start + within]
    return any(s.alerts > 0 or s.joined_high_alerted for s in window)


def measure(outcomes: Sequence[ClientOutcome]) -> dict[str, float]:
    """Every figure's value, by key."""
    return {
        "alerts_unplanted": alerts_per_session(outcomes, lambda o: not o.planted),
        "alerts_all": alerts_per_session(outcomes, lambda o: True),
        "open_medium": open_medium_share(outcomes),
        "detected_at_start": detected_share(outcomes, 1),
        f"detected_within_{WITHIN_SESSIONS}": detected_share(outcomes, WITHIN_SESSIONS),
    }


def table(values: dict[str, float]) -> list[Row]:
    return [Row(figure, values[figure.key]) for figure in FIGURES]


def alert_reasons(outcomes: Sequence[ClientOutcome]) -> list[tuple[str, int, float]]:
    """Not a budget figure but where to look when one misses: for each marker code (and ``stale``), how many
    push alerts of ``outcomes`` carried it and their share of all the alerts (an alert may carry several)."""
    counts: dict[str, int] = {}
    total = 0
    for outcome in outcomes:
        for session in outcome.sessions:
            for reason in session.alert_reasons:
                total += 1
                for code in reason:
                    counts[code] = counts.get(code, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(code, count, count / total) for code, count in ranked]


def form_pairs(outcomes: Sequence[ClientOutcome]) -> tuple[int, int]:
    """Not a budget figure: the sessions in which the client's psq and the SRS right after it (one form, a
    minute apart) each announced a push alert, e.g. medium then high, and all the push alerts. Each such pair
    reaches the clinician as two alerts about one session."""
    pairs = sum(
        "srs-client" in session.alert_facts and "psq-client" in session.alert_facts
        for outcome in outcomes
        for session in outcome.sessions
    )
    return pairs, sum(outcome.alerts for outcome in outcomes)


def undone_resolutions(outcomes: Sequence[ClientOutcome]) -> dict[str, int]:
    """Not a budget figure: per kind of fact, the resolutions announced and then undone by that fact, e.g. a
    repair by the client's SRS that the therapist's SRS a minute later, a blind spot, turns back into an open
    episode. Nothing more is announced about such an episode, so its later alerts are lost."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        for session in outcome.sessions:
            for kind in session.undone_resolutions:
                counts[kind] = counts.get(kind, 0) + 1
    return counts


def basis(outcomes: Sequence[ClientOutcome]) -> str:
    """What the figures rest on, to judge their precision."""
    sessions = sum(len(o.sessions) for o in outcomes)
    unplanted = sum(len(o.sessions) for o in outcomes if not o.planted)
    planted = sum(o.planted for o in outcomes)
    return (
        f"{len(outcomes)} clients, {sessions} client-sessions ({unplanted} of clients without a planted "
        f"rupture), {planted} planted ruptures"
    )
