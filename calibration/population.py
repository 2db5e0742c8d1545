"""The reference population: seeded, pure synthetic clinics whose clients rate their sessions.

Everything is plain numbers (no domain types), so a population can be generated, inspected and tested apart from
the rules it is fed to. Each client draws from its own random stream (seed and client index), so changing one
parameter keeps every other draw of that client: neighbouring cells of a sweep differ by the parameter, not by
luck. A held session's item noise and its psq answers come from a stream of the session's own, seeded from the
client's, so the client's stream moves on by the same draws whatever the session holds. The parameters, their
defaults and where each default comes from are declared once, in ``Parameters``, and the command line and the
documentation are built from that declaration.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

SRS_ITEMS = 4  # relationship, goals, approach, overall; also the ORS's four items
ITEM_MAX = 10.0
TOTAL_MAX = SRS_ITEMS * ITEM_MAX
PSQ_SCALE_MAX = 5  # the psq's intensity and resolution run 1–5


def _param(default: Any, help: str, source: str) -> Any:
    return field(default=default, metadata={"help": help, "source": source})


@dataclass(frozen=True)
class Parameters:
    """The population's knobs. ``help`` says what each one is, ``source`` why its default is what it is."""

    clients: int = _param(
        3000, "clients in the population", "thousands, so every share is within about ±1 point"
    )
    min_sessions: int = _param(
        10, "fewest weekly sessions per client", "DOMAIN.md: clients followed for ten sessions and more"
    )
    max_sessions: int = _param(
        20, "most weekly sessions per client", "DOMAIN.md: expected trajectories are fitted up to session 20"
    )
    therapists_per_clinic: int = _param(6, "therapists per clinic", "a small group practice")
    clients_per_therapist: int = _param(
        25, "active clients per therapist", "a typical caseload of a full-time therapist"
    )
    srs_mean: float = _param(
        37.5,
        "population mean of the clients' usual SRS total",
        "DOMAIN.md 2.1 (around 37.5); SRS norms (Miller, Duncan et al.) put session means at 36–38",
    )
    srs_between_sd: float = _param(
        2.2, "SD of the clients' usual SRS totals", "DOMAIN.md 2.1 (around 2.2; 1.5–3 measured)"
    )
    srs_within_sd: float = _param(
        1.2, "SD of a client's SRS total around their usual", "DOMAIN.md 2.1 (around 1.2; 0.8–1.5 measured)"
    )
    srs_item_sd: float = _param(
        0.3,
        "SD of one SRS item around a quarter of the total",
        "items of one form agree closely (SRS α ≈ .88–.93)",
    )
    ors_intake_mean: float = _param(
        19.0, "mean first ORS total", "DOMAIN.md 2.1 (around 19): clinical samples start below the cutoff 25"
    )
    ors_intake_sd: float = _param(6.5, "SD of the first ORS total", "DOMAIN.md 2.1 (around 6.5)")
    ors_gain_mean: float = _param(
        3.5,
        "mean b of an improving client's ORS change b·ln(t)",
        "about 8 points by session 10, a little above the reliable change of 5",
    )
    ors_gain_sd: float = _param(
        1.5, "SD of b among improving clients (b ≥ 0)", "clients improve at different rates"
    )
    not_improving_share: float = _param(
        0.2, "share of clients whose ORS does not improve (b = 0)", "DOMAIN.md 2.1 (a fifth not improving)"
    )
    ors_noise_sd: float = _param(
        2.0,
        "SD of an ORS total around the client's curve",
        "ORS standard error of measurement ≈ 6.5·√(1 − .9)",
    )
    no_show_share: float = _param(
        0.06, "share of sessions that are no-shows (no ratings)", "DOMAIN.md 2.1 (about 6 %)"
    )
    therapist_gap_mean: float = _param(
        0.5,
        "mean of therapist SRS total minus the client's",
        "therapists rate the alliance near their clients, slightly higher",
    )
    therapist_gap_sd: float = _param(1.0, "SD of that difference", "close but not identical ratings")
    therapist_higher_share: float = _param(
        0.1,
        "share of sessions the therapist rates clearly higher",
        "DOMAIN.md 2.1 (sometimes higher): blind spots",
    )
    therapist_higher_min: float = _param(
        3.0, "least extra points in such a session", "large enough to matter"
    )
    therapist_higher_max: float = _param(
        6.0, "most extra points in such a session", "up to the blindspot gap and above"
    )
    rupture_share: float = _param(
        1 / 6, "share of clients with a planted rupture", "DOMAIN.md 2.1 (a sixth of clients)"
    )
    rupture_min_drop: float = _param(
        5.0, "least drop below the client's usual during a rupture", "DOMAIN.md 2.1 (5–8 points)"
    )
    rupture_max_drop: float = _param(
        8.0, "largest drop below the client's usual during a rupture", "DOMAIN.md 2.1 (5–8 points)"
    )
    rupture_max_sessions: int = _param(
        3, "longest rupture, in sessions (shortest: 1)", "DOMAIN.md 2.1 (1–3 sessions)"
    )
    rupture_first_session: int = _param(
        4, "earliest session (1-based) a rupture may start", "three ratings before it give the client a usual"
    )
    repair_share: float = _param(
        0.5,
        "share of ruptures repaired at once; the rest half stay lower, half drift back",
        "repair follows roughly half of ruptures (Eubanks et al. 2018)",
    )
    unrepaired_drop: float = _param(
        3.0, "points below the usual where an unrepaired client stays", "between the usual and the rupture"
    )
    drift_sessions: int = _param(
        4, "sessions an unrepaired client takes to drift back to the usual", "a slow return"
    )
    psq_report_share: float = _param(
        0.5,
        "share of planted ruptures the client reports on the psq (tension = 1 at each of its sessions)",
        "assumption: clients report tension in many, not all, ruptures; they report fewer than therapists "
        "and observers see (Eubanks et al. 2018)",
    )
    psq_intensity_min: int = _param(
        2,
        "least intensity (1–5) a client gives a planted rupture they report",
        "assumption: a drop of 5–8 points bothered the client at least a little; no published distribution",
    )
    psq_intensity_max: int = _param(
        5, "largest intensity (1–5) a client gives a planted rupture they report", "the scale's top"
    )
    psq_resolution_min: int = _param(
        1, "least resolution (1–5) a client gives a planted rupture they report", "the scale's bottom"
    )
    psq_resolution_max: int = _param(
        4,
        "largest resolution (1–5) a client gives a planted rupture they report",
        "assumption: a rupture that lowers the session's SRS by 5–8 points was not completely resolved "
        "by its end; no published distribution",
    )
    psq_minor_share: float = _param(
        0.1,
        "share of the other held sessions in which the client reports a minor tension (a low "
        "reported_rupture)",
        "assumption: clients report tension in a fifth to two fifths of sessions (Eubanks et al. 2018); the "
        "larger tensions among them are what the planted ruptures and the SRS's own dips stand for",
    )
    psq_minor_intensity_max: int = _param(
        2,
        "largest intensity of a minor tension (least: 1)",
        "assumption: it hardly bothered the client",
    )
    psq_minor_resolution_min: int = _param(
        4,
        "least resolution of a minor tension (most: 5)",
        "assumption: resolved within the session; above report_medium_resolution (3), so it reads low",
    )
    psq_answer_share: float = _param(
        0.8,
        "share of the other held sessions without a report of tension in which the client still answers "
        "the psq, with tension = 0",
        "assumption: the form asks it, optional, after the SRS; a 'no' raises no marker where the clinic "
        "uses the SRS, so it costs replay time, not alerts",
    )

    def __post_init__(self) -> None:
        shares = (
            "not_improving_share",
            "no_show_share",
            "therapist_higher_share",
            "rupture_share",
            "repair_share",
            "psq_report_share",
            "psq_minor_share",
            "psq_answer_share",
        )
        problems = [f"{name} must be between 0 and 1" for name in shares if not 0 <= getattr(self, name) <= 1]
        problems += [
            f"{name} must be at least 1"
            for name in (
                "clients",
                "min_sessions",
                "therapists_per_clinic",
                "clients_per_therapist",
                "rupture_max_sessions",
                "rupture_first_session",
                "drift_sessions",
            )
            if getattr(self, name) < 1
        ]
        if self.min_sessions > self.max_sessions:
            problems.append("min_sessions must not exceed max_sessions")
        problems += [
            f"{name} must be between 1 and {PSQ_SCALE_MAX}"
            for name in (
                "psq_intensity_min",
                "psq_intensity_max",
                "psq_resolution_min",
                "psq_resolution_max",
                "psq_minor_intensity_max",
                "psq_minor_resolution_min",
            )
            if not 1 <= getattr(self, name) <= PSQ_SCALE_MAX
        ]
        if (
            self.rupture_min_drop > self.rupture_max_drop
            or self.therapist_higher_min > self.therapist_higher_max
            or self.psq_intensity_min > self.psq_intensity_max
            or self.psq_resolution_min > self.psq_resolution_max
        ):
            problems.append("each min must not exceed its max")
        if problems:
            raise ValueError("; ".join(problems))


def parameter_fields() -> list[tuple[str, Any, str, str]]:
    """(name, default, help, source) of every parameter, in declaration order."""
    defaults = Parameters()
    return [
        (f.name, getattr(defaults, f.name), f.metadata["help"], f.metadata["source"])
        for f in fields(Parameters)
    ]


class Course(Enum):
    """What follows a planted drop."""

    REPAIRED = "repaired"  # back to the usual at once
    STAYS_LOWER = "stays_lower"  # stays a few points below the usual for the rest of therapy
    DRIFTS_BACK = "drifts_back"  # returns to the usual over a few sessions


@dataclass(frozen=True)
class PlantedRupture:
    start: int  # 0-based index of the rupture's first session
    sessions: int  # how many sessions the drop lasts
    course: Course
    psq_reported: bool  # the client would report tension on the psq at the drop's sessions


@dataclass(frozen=True)
class PlannedSession:
    """One weekly session. Ratings are item values with one decimal (None: not given, e.g. a no-show).

    ``client_psq`` is the client's rupture report in the psq's item order: ``(0,)`` for "no tension",
    ``(1, intensity, resolution)`` for tension, None when the client left the optional question unanswered."""

    index: int
    attended: bool
    ors: tuple[float, ...] | None
    client_srs: tuple[float, ...] | None
    therapist_srs: tuple[float, ...] | None
    in_rupture: bool  # a session of the planted drop
    client_psq: tuple[int, ...] | None = None

    @property
    def psq_tension(self) -> bool:
        """The client's psq says tension = 1."""
        return self.client_psq is not None and self.client_psq[0] == 1


@dataclass(frozen=True)
class PlannedClient:
    clinic_id: str
    therapist_id: str
    client_id: str
    start_week: int  # weeks after the population's epoch of the first session
    usual_srs: float
    rupture: PlantedRupture | None
    sessions: tuple[PlannedSession, ...]
    ors_gain: float = 0.0  # b of the client's ORS curve b·ln(t); 0 for a client who does not improve


def generate(parameters: Parameters, seed: int) -> tuple[PlannedClient, ...]:
    """The whole population, the same for the same parameters and seed."""
    return tuple(planned_client(parameters, seed, index) for index in range(parameters.clients))


def planned_client(p: Parameters, seed: int, index: int) -> PlannedClient:
    rng = random.Random(f"calibration:{seed}:{index}")
    therapist = index // p.clients_per_therapist
    clinic = therapist // p.therapists_per_clinic
    # Draws in a fixed order whatever the SRS and ORS values: a sweep changes values, not which draw is which.
    usual = min(TOTAL_MAX, p.srs_mean + p.srs_between_sd * rng.gauss(0, 1))
    count = rng.randint(p.min_sessions, p.max_sessions)
    start_week = rng.randrange(52)
    intake = _clip(p.ors_intake_mean + p.ors_intake_sd * rng.gauss(0, 1), 0, TOTAL_MAX)
    improving = rng.random() >= p.not_improving_share
    gain_draw = rng.gauss(0, 1)
    gain = max(0.0, p.ors_gain_mean + p.ors_gain_sd * gain_draw) if improving else 0.0
    rupture = _rupture(p, rng, count)
    course_levels = _levels(p, rng, usual, count, rupture)
    sessions: list[PlannedSession] = []
    ors_count = 0
    for i in range(count):
        in_rupture = rupture is not None and rupture.start <= i < rupture.start + rupture.sessions
        no_show = rng.random() < p.no_show_share
        noise, ors_noise, gap, higher, extra = (
            rng.gauss(0, 1),
            rng.gauss(0, 1),
            rng.gauss(0, 1),
            rng.random(),
            rng.random(),
        )
        # Item noise comes from a stream of its own, so the client's stream moves on by the same draws per session.
        item_stream = random.Random(rng.random())
        # A planted drop is always rated: it is a rupture in a session that took place.
        if no_show and not in_rupture:
            sessions.append(PlannedSession(i, False, None, None, None, False))
            continue
        ors_count += 1
        ors_total = _clip(intake + gain * math.log(ors_count) + p.ors_noise_sd * ors_noise, 0, TOTAL_MAX)
        client_total = _clip(course_levels[i] + p.srs_within_sd * noise, 0, TOTAL_MAX)
        bonus = p.therapist_higher_min + extra * (p.therapist_higher_max - p.therapist_higher_min)
        therapist_total = _clip(
            client_total
            + p.therapist_gap_mean
            + p.therapist_gap_sd * gap
            + (bonus if higher < p.therapist_higher_share else 0.0),
            0,
            TOTAL_MAX,
        )
        ors_items = split_total(ors_total, p.srs_item_sd, item_stream)
        client_items = split_total(client_total, p.srs_item_sd, item_stream)
        therapist_items = split_total(therapist_total, p.srs_item_sd, item_stream)
        # After the ratings' draws, from the session's own stream: the report moves no rating of any session.
        reported = in_rupture and rupture is not None and rupture.psq_reported
        sessions.append(
            PlannedSession(
                index=i,
                attended=True,
                ors=ors_items,
                client_srs=client_items,
                therapist_srs=therapist_items,
                in_rupture=in_rupture,
                client_psq=_client_psq(p, item_stream, planted=in_rupture, reported=reported),
            )
        )
    return PlannedClient(
        clinic_id=f"clinic-{clinic + 1:03d}",
        therapist_id=f"t-{therapist + 1:04d}",
        client_id=f"c-{index + 1:05d}",
        start_week=start_week,
        usual_srs=round(usual, 2),
        rupture=rupture,
        sessions=tuple(sessions),
        ors_gain=gain,
    )


def _rupture(p: Parameters, rng: random.Random, count: int) -> PlantedRupture | None:
    planted, start_draw, length_draw, course_draw, report_draw = (rng.random() for _ in range(5))
    first = p.rupture_first_session - 1
    last = count - 2  # at least one session after the start, so "within two sessions" can be observed
    if planted >= p.rupture_share or first > last:
        return None
    start = first + int(start_draw * (last - first + 1))
    length = min(1 + int(length_draw * p.rupture_max_sessions), count - start)
    if course_draw < p.repair_share:
        course = Course.REPAIRED
    elif course_draw < p.repair_share + (1 - p.repair_share) / 2:
        course = Course.STAYS_LOWER
    else:
        course = Course.DRIFTS_BACK
    return PlantedRupture(start, length, course, report_draw < p.psq_report_share)


def _client_psq(
    p: Parameters, rng: random.Random, *, planted: bool, reported: bool
) -> tuple[int, ...] | None:
    """The client's psq answers for a held session of the drop (``planted``) or any other held session.

    Always the same four draws, whatever the session and the parameters, so a session's answers change only
    with the parameters that say what they are."""
    answers, minor, intensity, resolution = (rng.random() for _ in range(4))
    if reported:
        return (
            1,
            _whole(intensity, p.psq_intensity_min, p.psq_intensity_max),
            _whole(resolution, p.psq_resolution_min, p.psq_resolution_max),
        )
    # A planted rupture the client does not report is no session for a minor one either.
    if not planted and minor < p.psq_minor_share:
        return (
            1,
            _whole(intensity, 1, p.psq_minor_intensity_max),
            _whole(resolution, p.psq_minor_resolution_min, PSQ_SCALE_MAX),
        )
    return (0,) if answers < p.psq_answer_share else None


def _whole(draw: float, low: int, high: int) -> int:
    """A uniform whole number in ``low..high`` from a draw in [0, 1)."""
    return low + int(draw * (high - low + 1))


def _levels(
    p: Parameters, rng: random.Random, usual: float, count: int, rupture: PlantedRupture | None
) -> list[float]:
    """The client's expected SRS total at each session: the usual, and the planted drop and its aftermath."""
    drops = [rng.uniform(p.rupture_min_drop, p.rupture_max_drop) for _ in range(p.rupture_max_sessions)]
    levels = [usual] * count
    if rupture is None:
        return levels
    end = rupture.start + rupture.sessions
    for offset, i in enumerate(range(rupture.start, end)):
        levels[i] = usual - drops[offset % len(drops)]
    for after, i in enumerate(range(end, count), start=1):
        if rupture.course is Course.STAYS_LOWER:
            levels[i] = usual - p.unrepaired_drop
        elif rupture.course is Course.DRIFTS_BACK and after < p.drift_sessions:
            levels[i] = usual - p.unrepaired_drop * (1 - after / p.drift_sessions)
    return levels


def split_total(total: float, item_sd: float, rng: random.Random) -> tuple[float, ...]:
    """``total`` (rounded to a tenth) over four items in tenths, each within 0–10, with item noise that keeps
    the sum: the rounded total is exactly the sum of the items."""
    tenths = round(_clip(total, 0, TOTAL_MAX) * 10)
    noise = [rng.gauss(0, item_sd) for _ in range(SRS_ITEMS)]
    centre = sum(noise) / SRS_ITEMS
    items = [round(_clip(tenths / SRS_ITEMS / 10 + n - centre, 0, ITEM_MAX) * 10) for n in noise]
    step = 1 if sum(items) < tenths else -1
    i = 0
    while (
        sum(items) != tenths
    ):  # rounding and clipping moved the sum: hand back the tenths where there is room
        if 0 <= items[i % SRS_ITEMS] + step <= ITEM_MAX * 10:
            items[i % SRS_ITEMS] += step
        i += 1
    return tuple(item / 10 for item in items)


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
