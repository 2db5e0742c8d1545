"""``not_on_track`` on the reference population: the expected trajectories fitted on the population itself, then
every client replayed against them, as a clinic whose fit has run would judge its clients.

The population draws each client's ORS on a curve b·ln(t) (a fifth of the clients do not improve: b = 0), so
here, unlike in a clinic, we know who is truly not improving. The figures say how many of them an alert names
as not on track, how many improving clients it names too, and what the fitted curves add to the alert budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from services.scoring.domain import ExpectedTrajectories, Thresholds, TrajectoryModel
from services.scoring.domain.trajectories import fit

from .figures import alerts_per_session, open_medium_share
from .population import PlannedClient
from .replay import ClientOutcome

MARKER = "not_on_track"


def fitted_on(clients: Sequence[PlannedClient], version: str) -> ExpectedTrajectories:
    """The population's own curves, as one clinic's model."""
    totals = [
        [sum(session.ors) for session in client.sessions if session.ors is not None] for client in clients
    ]
    bands = tuple(fit(totals).values())
    return ExpectedTrajectories(clinic=TrajectoryModel(version, "clinic", bands))


def with_trajectories(thresholds: Thresholds, expected: ExpectedTrajectories) -> Thresholds:
    return replace(thresholds, trajectories=expected)


@dataclass(frozen=True)
class TrackingFigures:
    bands: int  # usable bands of the fit
    not_improving: int  # clients drawn without improvement
    improving: int
    named_not_improving: int  # of those, clients with a push alert naming not_on_track
    named_improving: int
    alerted_without: float  # share of clients without a planted rupture with any push alert, no fit
    alerted_with: float  # the same with the fitted curves
    alerts_without: float  # push alerts per client-session, clients without a planted rupture, no fit
    alerts_with: float
    # the same for the clients with nothing to find: no planted rupture, and drawn improving
    alerts_nothing_without: float
    alerts_nothing_with: float
    open_medium_without: float  # active clients in an open medium or high episode at a typical session
    open_medium_with: float
    open_medium_nothing_with: float  # the same over the clients with nothing to find


def tracking_figures(
    expected: ExpectedTrajectories, without: Sequence[ClientOutcome], with_fit: Sequence[ClientOutcome]
) -> TrackingFigures:
    def named(outcome: ClientOutcome) -> bool:
        return any(MARKER in reasons for session in outcome.sessions for reasons in session.alert_reasons)

    def alerted_share(outcomes: Sequence[ClientOutcome]) -> float:
        unplanted = [o for o in outcomes if not o.planted]
        return sum(o.alerts > 0 for o in unplanted) / len(unplanted) if unplanted else 0.0

    return TrackingFigures(
        bands=len(expected.clinic.bands) if expected.clinic else 0,
        not_improving=sum(not o.improving for o in with_fit),
        improving=sum(o.improving for o in with_fit),
        named_not_improving=sum(named(o) for o in with_fit if not o.improving),
        named_improving=sum(named(o) for o in with_fit if o.improving),
        alerted_without=alerted_share(without),
        alerted_with=alerted_share(with_fit),
        alerts_without=alerts_per_session(without, lambda o: not o.planted),
        alerts_with=alerts_per_session(with_fit, lambda o: not o.planted),
        alerts_nothing_without=alerts_per_session(without, lambda o: not o.planted and o.improving),
        alerts_nothing_with=alerts_per_session(with_fit, lambda o: not o.planted and o.improving),
        open_medium_without=open_medium_share(without),
        open_medium_with=open_medium_share(with_fit),
        open_medium_nothing_with=open_medium_share([o for o in with_fit if not o.planted and o.improving]),
    )


def lines(figures: TrackingFigures) -> list[str]:
    f = figures

    def share(part: int, whole: int) -> str:
        return f"{part} of {whole} ({part / whole * 100:.1f} %)" if whole else "none"

    return [
        f"- usable intake bands fitted: {f.bands} of 5",
        f"- clients drawn not improving and named not on track by a push alert: "
        f"{share(f.named_not_improving, f.not_improving)}",
        f"- clients drawn improving and named not on track anyway: {share(f.named_improving, f.improving)}",
        f"- clients without a planted rupture with any push alert: {f.alerted_without * 100:.1f} % without the "
        f"fit, {f.alerted_with * 100:.1f} % with it",
        f"- push alerts per client-session, clients without a planted rupture: {f.alerts_without:.4f} without "
        f"the fit, {f.alerts_with:.4f} with it",
        f"- the same for clients with nothing to find (no planted rupture, drawn improving): "
        f"{f.alerts_nothing_without:.4f} without the fit, {f.alerts_nothing_with:.4f} with it",
        f"- active clients in an open medium or high episode at a typical session: "
        f"{f.open_medium_without * 100:.1f} % without the fit, {f.open_medium_with * 100:.1f} % with it "
        f"({f.open_medium_nothing_with * 100:.1f} % of the clients with nothing to find)",
    ]
