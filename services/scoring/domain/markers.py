"""Rupture markers: the codes, families and levels of DOMAIN.md's marker table, and the Marker value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from shared.instruments import AllianceDimension

from .severity import Severity


class MarkerFamily(Enum):
    SCORE = "score"
    CHANGE = "change"
    OUTCOME = "outcome"
    BEHAVIOUR = "behaviour"
    PERSPECTIVE = "perspective"
    REPORT = "report"  # version 2: a respondent said in plain terms that there was tension
    AGREEMENT = "agreement"  # version 2: the client's answer to the therapist's next steps


class MarkerCode(Enum):
    BELOW_CUTOFF = "below_cutoff"
    ITEM_LOW = "item_low"
    DROP_FROM_LAST = "drop_from_last"
    DROP_FROM_BASELINE = "drop_from_baseline"
    STEEP_DROP = "steep_drop"
    ORS_DETERIORATION = "ors_deterioration"
    ATTENDANCE = "attendance"
    MISSING_FEEDBACK = "missing_feedback"
    BLINDSPOT = "blindspot"
    REPORTED_RUPTURE = "reported_rupture"
    UNRECOGNISED_RUPTURE = "unrecognised_rupture"
    THERAPIST_REPORTED_RUPTURE = "therapist_reported_rupture"
    NEXT_STEPS_MISMATCH = "next_steps_mismatch"
    GOAL_DISAGREEMENT = "goal_disagreement"
    GOAL_SETBACK = "goal_setback"
    NOT_ON_TRACK = "not_on_track"


MARKER_TABLE: Mapping[MarkerCode, tuple[MarkerFamily, Severity]] = {
    MarkerCode.BELOW_CUTOFF: (MarkerFamily.SCORE, Severity.MEDIUM),
    MarkerCode.ITEM_LOW: (MarkerFamily.SCORE, Severity.MEDIUM),
    MarkerCode.DROP_FROM_LAST: (MarkerFamily.CHANGE, Severity.LOW),
    MarkerCode.DROP_FROM_BASELINE: (MarkerFamily.CHANGE, Severity.MEDIUM),
    MarkerCode.STEEP_DROP: (MarkerFamily.CHANGE, Severity.HIGH),
    MarkerCode.ORS_DETERIORATION: (MarkerFamily.OUTCOME, Severity.MEDIUM),
    MarkerCode.ATTENDANCE: (MarkerFamily.BEHAVIOUR, Severity.MEDIUM),
    MarkerCode.MISSING_FEEDBACK: (MarkerFamily.BEHAVIOUR, Severity.LOW),
    MarkerCode.BLINDSPOT: (MarkerFamily.PERSPECTIVE, Severity.MEDIUM),
    # Graded by the report itself (high, medium or low: see ``marking``); medium is its table's middle level.
    MarkerCode.REPORTED_RUPTURE: (MarkerFamily.REPORT, Severity.MEDIUM),
    MarkerCode.UNRECOGNISED_RUPTURE: (MarkerFamily.PERSPECTIVE, Severity.MEDIUM),
    MarkerCode.THERAPIST_REPORTED_RUPTURE: (MarkerFamily.REPORT, Severity.LOW),
    # Medium for a "no"; low for "partly" on several notes in a row (``marking``).
    MarkerCode.NEXT_STEPS_MISMATCH: (MarkerFamily.AGREEMENT, Severity.MEDIUM),
    MarkerCode.GOAL_DISAGREEMENT: (MarkerFamily.PERSPECTIVE, Severity.MEDIUM),
    MarkerCode.GOAL_SETBACK: (MarkerFamily.OUTCOME, Severity.MEDIUM),
    MarkerCode.NOT_ON_TRACK: (MarkerFamily.OUTCOME, Severity.MEDIUM),
}

# Markers read from the alliance ratings themselves (SRS); the attendance rule looks back for these.
ALLIANCE_FAMILIES = frozenset({MarkerFamily.SCORE, MarkerFamily.CHANGE, MarkerFamily.PERSPECTIVE})


@dataclass(frozen=True)
class Marker:
    """One rule that fired for a session: what was observed and the threshold it was compared with.

    ``observed``/``threshold`` per code: scores and their bound (below_cutoff: T vs cutoff; item_low: the item vs
    8.0; drop_from_last, drop_from_baseline, steep_drop: T vs the bound it fell to or below, e.g. T(n-1) - 1.0;
    ors_deterioration: ORS total vs first ORS - 5; blindspot: the therapist-minus-client gap vs 5) or session
    counts (attendance: sessions since the alliance marker, or length of the absence run, vs the window or run;
    missing_feedback: length of the run vs the run threshold) or rupture reports on their 1–5 scales
    (reported_rupture: the client's resolution vs the resolution bound of the level it reached;
    unrecognised_rupture: the therapist's tension 0 vs 1, or the therapist-minus-client resolution gap vs its
    bound; therapist_reported_rupture: the therapist's intensity vs 1) or answers to shared notes
    (next_steps_mismatch: the notes in a row whose next steps did not fit vs the run it needs, 1 for a "no") or
    goal ratings on their 0–10 scale (goal_disagreement: the client-therapist gap vs 3; goal_setback: the
    client's rating vs their best earlier rating of the goal − 3) or the change of the ORS total from intake
    (not_on_track: the observed change vs the band's lower limit, with ``expected``, the change the fitted
    curve expects by this session, and ``model``, the version of the fit).

    ``case_level``: version 2.1's case-sensitive score markers (below_cutoff, item_low) are low for a client
    whose own usual sits below the cutoff, and a client's rupture report is graded by its intensity and
    resolution; the table's level stands otherwise.
    """

    code: MarkerCode
    observed: Decimal
    threshold: Decimal
    dimension: AllianceDimension | None = None
    case_level: Severity | None = None  # the level for this client's case when it differs from the table's
    expected: Decimal | None = None  # not_on_track: the change from intake its curve expects by this session
    model: str | None = None  # not_on_track: the version of the trajectory model it was judged by

    @property
    def family(self) -> MarkerFamily:
        return MARKER_TABLE[self.code][0]

    @property
    def level(self) -> Severity:
        return self.case_level or MARKER_TABLE[self.code][1]

    @property
    def is_alliance_marker(self) -> bool:
        return self.family in ALLIANCE_FAMILIES
