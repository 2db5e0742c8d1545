"""The marker rules of DOMAIN.md, applied to a client's sessions in session order.

``mark_session`` judges one session against the sessions before it and the client's usual (``Usual``: the
totals outside rupture episodes, which only the episode walk in ``episodes`` knows; so a whole history is
marked by that walk, ``assess_client``). Which session a marker belongs to: always the session at which its rule fires, i.e. the session
whose data completes the pattern. SRS/ORS markers sit on the rated session; ``attendance`` on the no_show or
late_cancel session; ``missing_feedback`` on the attended session that completes the run without client SRS (or, version 2, a
client rupture report: a clinic that asks for reports and not SRS still hears from the client)
(and on every further one while the run lasts).

Definitions where DOMAIN.md leaves room:
- T(n−1) is the client SRS total of the latest earlier session that has one.
- "Alliance marker" (for the attendance rule) means a marker read from SRS ratings: families score, change
  and perspective.
- "Within the 2 sessions after" and "in a row" count sessions that ``count`` (a session the clinic cancelled is
  skipped, neither breaking nor extending a run). A session with unknown attendance (only feedback so far) is
  presumed held.
- ``steep_drop`` fires once per session; its threshold is T(n−1) − 5.0 when the drop rule holds, else the
  floor 30.
- ``item_low`` fires once per low item, each with the item's dimension.
- Rupture reports (``psq``, version 2) are read within their session alone: ``reported_rupture`` from the
  client's report, ``unrecognised_rupture`` once the therapist's report of the same session is there too, and
  ``therapist_reported_rupture`` while the client has not reported tension (no report, or one saying none).
  Whichever report arrives first, the session's markers are those of both once both are known.
- Goal ratings (``gbo``) name the goals active in their session (``goals``); ``goal_setback`` compares with the
  client's best rating of the same goal in any earlier session.
- ``not_on_track`` counts t over the sessions with a client ORS, intake being the first; it needs the fitted
  trajectories, which travel with the thresholds, and names their version.
- T(n−1) (``drop_from_last``, ``steep_drop``) is the previous total whether or not it was inside an episode:
  those rules are about the change from one session to the next. ``drop_from_baseline`` and the level of the
  score markers read the usual (version 2.1, rules 1 and 2).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from shared.instruments import AllianceDimension, Scores, srs_dimension

from . import goals
from .baseline import BaselineBound, shown
from .facts import NoteFit
from .history import Session
from .markers import Marker, MarkerCode, MarkerFamily
from .severity import Severity, severity_of
from .thresholds import Thresholds
from .trajectories import off_track
from .usual import Usual

T = TypeVar("T")


@dataclass(frozen=True)
class MarkedSession:
    """A session with the markers that fired for it and its severity.

    ``srs_total`` is the client SRS total (None without one); ``baseline`` the client's usual it was judged
    against: the mean of the last ≤ window earlier client SRS totals outside episodes (None when there is
    none), rounded for display.
    """

    session: Session
    markers: tuple[Marker, ...]
    severity: Severity
    srs_total: Decimal | None
    baseline: Decimal | None

    @property
    def session_id(self) -> str:
        return self.session.session_id

    @property
    def has_alliance_marker(self) -> bool:
        return any(marker.is_alliance_marker for marker in self.markers)

    @property
    def has_drop(self) -> bool:
        """A medium or high change marker: a drop, which is never taken for the client's usual."""
        return any(m.family is MarkerFamily.CHANGE and m.level >= Severity.MEDIUM for m in self.markers)

    @property
    def is_calm(self) -> bool:
        """No medium or high marker: what settling and staleness look at."""
        return all(marker.level < Severity.MEDIUM for marker in self.markers)


def mark_session(
    session: Session, earlier: Sequence[MarkedSession], thresholds: Thresholds, usual: Usual
) -> MarkedSession:
    """Judge ``session`` against the already-marked sessions before it and the client's ``usual``."""
    previous = next((m.srs_total for m in reversed(earlier) if m.srs_total is not None), None)
    # The rules below look back from the latest session and mostly stop within a few: each walks ``earlier``
    # backwards only as far as it needs, so judging one more session costs the same however long the history.
    srs = session.client_srs
    markers: list[Marker] = []
    if srs is not None:
        markers.extend(_srs_markers(srs, previous, usual, thresholds))
    markers.extend(_report_markers(session.client_psq, session.therapist_psq, thresholds))
    markers.extend(_agreement_markers(session, earlier, thresholds))
    markers.extend(_ors_markers(session, earlier, thresholds))
    markers.extend(_trajectory_markers(session, earlier, thresholds))
    markers.extend(_goal_markers(session, earlier, thresholds))
    if session.counts:
        markers.extend(_attendance_markers(session, earlier, thresholds))
        markers.extend(_missing_feedback_markers(session, earlier, thresholds))
    if srs is not None:
        markers.extend(_blindspot_markers(srs, session.therapist_srs, thresholds))
    return MarkedSession(
        session=session,
        markers=tuple(markers),
        severity=severity_of(markers),
        srs_total=srs.total if srs is not None else None,
        baseline=shown(level) if (level := usual.mean) is not None else None,
    )


def _srs_markers(srs: Scores, previous: Decimal | None, usual: Usual, t: Thresholds) -> Iterator[Marker]:
    total = srs.total
    # Rule 2: the cutoff stands in for a baseline until the client has one; a client whose usual is below it
    # is still shown as such, but only the change, report and perspective markers carry alerts for them.
    score_level = Severity.LOW if usual.is_below_cutoff(t) else None
    if total < t.srs_cutoff:
        yield Marker(MarkerCode.BELOW_CUTOFF, total, t.srs_cutoff, case_level=score_level)
    for item, value in srs.items:
        if value < t.item_low:
            yield Marker(MarkerCode.ITEM_LOW, value, t.item_low, srs_dimension(item), case_level=score_level)
    if previous is not None and total <= previous - t.drop_from_last:
        yield Marker(MarkerCode.DROP_FROM_LAST, total, previous - t.drop_from_last)
    window = usual.totals
    if len(window) >= t.baseline_min_earlier:
        bound = BaselineBound.of(window, t.baseline_min_drop, t.baseline_sd_factor)
        if bound.is_below(total):
            yield Marker(MarkerCode.DROP_FROM_BASELINE, total, bound.shown)
    if previous is not None and total <= previous - t.steep_drop:
        yield Marker(MarkerCode.STEEP_DROP, total, previous - t.steep_drop)
    elif total < t.steep_floor:
        yield Marker(MarkerCode.STEEP_DROP, total, t.steep_floor)


def _report_markers(client: Scores | None, therapist: Scores | None, t: Thresholds) -> Iterator[Marker]:
    client_tension = client is not None and client.get("tension") == 1
    if client is not None and client_tension:
        intensity, resolution = client.value("intensity"), client.value("resolution")
        if intensity >= t.report_high_intensity and resolution <= t.report_high_resolution:
            yield Marker(
                MarkerCode.REPORTED_RUPTURE, resolution, t.report_high_resolution, None, Severity.HIGH
            )
        elif resolution <= t.report_medium_resolution:
            yield Marker(
                MarkerCode.REPORTED_RUPTURE, resolution, t.report_medium_resolution, None, Severity.MEDIUM
            )
        else:  # resolved within the session
            yield Marker(
                MarkerCode.REPORTED_RUPTURE, resolution, t.report_medium_resolution, None, Severity.LOW
            )
    if therapist is None:
        return
    if client is not None and client_tension:
        therapist_resolution = therapist.get("resolution")
        if therapist_resolution is None:  # the therapist saw no tension
            yield Marker(MarkerCode.UNRECOGNISED_RUPTURE, therapist.value("tension"), Decimal(1))
        elif (gap := therapist_resolution - client.value("resolution")) >= t.unrecognised_resolution_gap:
            yield Marker(MarkerCode.UNRECOGNISED_RUPTURE, gap, t.unrecognised_resolution_gap)
    elif therapist.get("tension") == 1:
        yield Marker(MarkerCode.THERAPIST_REPORTED_RUPTURE, therapist.value("intensity"), Decimal(1))


def _agreement_markers(session: Session, earlier: Sequence[MarkedSession], t: Thresholds) -> Iterator[Marker]:
    """next_steps_mismatch on the session of a note the client answered: "no" is medium; "partly" low once the
    client answered "partly" to ``partly_notes_in_a_row`` notes in a row (an unanswered note breaks the run)."""
    if session.note_fit is NoteFit.NO:
        yield Marker(MarkerCode.NEXT_STEPS_MISMATCH, Decimal(1), Decimal(1))
        return
    if session.note_fit is not NoteFit.PARTLY:
        return
    with_notes = (m.session for m in reversed(earlier) if m.session.note_ids)
    run = 1 + _run_length(with_notes, lambda s: s.note_fit is NoteFit.PARTLY)
    if run >= t.partly_notes_in_a_row:
        runs = Decimal(run), Decimal(t.partly_notes_in_a_row)
        yield Marker(MarkerCode.NEXT_STEPS_MISMATCH, *runs, case_level=Severity.LOW)


def _ors_markers(session: Session, earlier: Sequence[MarkedSession], t: Thresholds) -> Iterator[Marker]:
    ors = session.client_ors
    if ors is None:
        return
    first = next((m.session.client_ors for m in earlier if m.session.client_ors is not None), None)
    if first is not None:
        bound = first.total - t.ors_deterioration
        if ors.total <= bound:
            yield Marker(MarkerCode.ORS_DETERIORATION, ors.total, bound)


def _trajectory_markers(
    session: Session, earlier: Sequence[MarkedSession], t: Thresholds
) -> Iterator[Marker]:
    """not_on_track: from the client's t-th session with an ORS (``not_on_track_from``, 3), the change from
    intake below the lower limit of their intake band's curve (the clinic's fit, else the platform-wide one), at
    this ORS and the ``not_on_track_run`` - 1 ORS before it, each against the limit of its own t. With the
    fitted curves, the lower limit is a quartile: a single ORS of an improving client crosses it by chance."""
    ors = session.client_ors
    if ors is None or t.trajectories is None:
        return
    totals = [s.total for m in earlier if (s := m.session.client_ors) is not None] + [ors.total]
    chosen = t.trajectories.curve_for(float(totals[0]))
    if chosen is None:
        return
    floats = [float(total) for total in totals]
    margin = float(t.not_on_track_margin)
    runs = [off_track(floats[:end], chosen, t.not_on_track_from, margin) for end in range(len(floats), 0, -1)]
    found = runs[0]
    if found is None or any(earlier_run is None for earlier_run in runs[1 : t.not_on_track_run]):
        return
    if len(runs) < t.not_on_track_run:
        return
    yield Marker(
        MarkerCode.NOT_ON_TRACK,
        ors.total - totals[0],
        Decimal(repr(found.lower_limit)),
        expected=Decimal(repr(found.expected)),
        model=chosen.version,
    )


def _goal_markers(session: Session, earlier: Sequence[MarkedSession], t: Thresholds) -> Iterator[Marker]:
    """goal_disagreement: client and therapist rate a goal of the session ``goal_reliable_change`` or more apart;
    goal_setback: the client rates a goal that much or more below their best earlier rating of it. One marker per
    goal, like item_low per item."""
    if session.client_gbo is None and session.therapist_gbo is None:
        return
    before = [m.session for m in earlier]
    slots = goals.active_goals(before, session)
    client = goals.rated(session.client_gbo, slots)
    therapist = goals.rated(session.therapist_gbo, slots)
    for goal, value in client.items():
        if goal in therapist and (gap := abs(value - therapist[goal])) >= t.goal_reliable_change:
            yield Marker(MarkerCode.GOAL_DISAGREEMENT, gap, t.goal_reliable_change, AllianceDimension.GOAL)
    best = goals.best_client_ratings(before) if client else {}
    for goal, value in client.items():
        if goal in best and value <= best[goal] - t.goal_reliable_change:
            yield Marker(MarkerCode.GOAL_SETBACK, value, best[goal] - t.goal_reliable_change)


def _counted_backwards(earlier: Sequence[MarkedSession]) -> Iterator[MarkedSession]:
    """The earlier sessions that count, the latest first."""
    return (m for m in reversed(earlier) if m.session.counts)


def _attendance_markers(
    session: Session, earlier: Sequence[MarkedSession], t: Thresholds
) -> Iterator[Marker]:
    if session.attendance is None or not session.attendance.is_absence:
        return
    recent = itertools.islice(_counted_backwards(earlier), t.attendance_window)
    since_marker = next(
        (distance for distance, m in enumerate(recent, start=1) if m.has_alliance_marker), None
    )
    if since_marker is not None:
        yield Marker(MarkerCode.ATTENDANCE, Decimal(since_marker), Decimal(t.attendance_window))
        return
    run = 1 + _run_length(
        _counted_backwards(earlier),
        lambda m: m.session.attendance is not None and m.session.attendance.is_absence,
    )
    if run >= t.absence_run:
        yield Marker(MarkerCode.ATTENDANCE, Decimal(run), Decimal(t.absence_run))


def _missing_feedback_markers(
    session: Session, earlier: Sequence[MarkedSession], t: Thresholds
) -> Iterator[Marker]:
    if not session.presumed_held or session.has_client_feedback:
        return
    run = 1 + _run_length(
        _counted_backwards(earlier), lambda m: m.session.presumed_held and not m.session.has_client_feedback
    )
    if run >= t.missing_feedback_run:
        yield Marker(MarkerCode.MISSING_FEEDBACK, Decimal(run), Decimal(t.missing_feedback_run))


def _blindspot_markers(srs: Scores, therapist_srs: Scores | None, t: Thresholds) -> Iterator[Marker]:
    if therapist_srs is None or srs.total >= t.srs_cutoff:
        return
    gap = therapist_srs.total - srs.total
    if gap >= t.blindspot_gap:
        yield Marker(MarkerCode.BLINDSPOT, gap, t.blindspot_gap)


def _run_length(latest_first: Iterable[T], holds: Callable[[T], bool]) -> int:
    """How many of the latest items in a row satisfy ``holds`` (``latest_first``: the items, latest first)."""
    run = 0
    for item in latest_first:
        if not holds(item):
            break
        run += 1
    return run
