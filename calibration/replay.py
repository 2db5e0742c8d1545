"""Feeding the pure domain as production would: each client's facts one at a time, in the order they are produced.

For each session the session record comes first, then the client's ORS (start of session), the client's
rupture report (``psq``) when they gave one, the client's SRS and the therapist's SRS (end of session). The
client's psq and SRS come as the signed-link form publishes them: the psq, then the SRS a minute later (the
other way round, an SRS could repair an episode that the report then reopens, after the repair was announced). After
every fact the client is assessed and what the assessment owes beyond what was already announced is announced,
exactly as the scoring service does with its outbox, so the count of ``RuptureSuspected`` is the count of push
alerts a clinician would have received (stale escalations included). Each fact is announced at the moment it
is recorded, and an alert that is about history by then (older than the clinic's push horizon) is recorded but
not counted as pushed, as in production; fed in real time, none is. No servers: the domain's own functions,
nothing else.

The therapist's psq is not fed: the population has no model of when therapists see tension (they report it
in more sessions than clients do, and not in the same ones), and without one its markers
(``unrecognised_rupture``, ``therapist_reported_rupture``) would measure the model, not the rules.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.scoring.domain import (
    Attendance,
    AttendanceRecorded,
    ClientAssessment,
    ClientHistory,
    EmittedLog,
    Fact,
    FeedbackRecorded,
    Instrument,
    Respondent,
    RuptureSuspected,
    Severity,
    Thresholds,
    assess_client,
    validate_scores,
)

from .population import PlannedClient, PlannedSession

EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday; only the spacing of sessions matters
_SRS_ITEMS = ("relationship", "goals", "approach", "overall")
_ORS_ITEMS = ("individual", "interpersonal", "social", "overall")
_PSQ_ITEMS = ("tension", "intensity", "resolution")  # only the tension for a "no"


@dataclass(frozen=True)
class SessionOutcome:
    """What a live system showed around one session.

    ``alerts``: push alerts announced while this session's facts arrived. ``open_severity``: the severity of
    the client's open episode once they all had (NONE when no episode is open). ``joined_high_alerted``: this
    session joined an open episode that had already been alerted at high before the session, so no new alert
    was owed for it (alerts only go up). ``alert_reasons``: per push alert, the marker codes of its session
    (``stale`` for a stale escalation), to show which rules the alerts rest on. ``alert_facts``: per push
    alert, the fact whose arrival announced it (``fact_kind``), to show alerts that follow one another within
    minutes. ``undone_resolutions``: per episode whose resolution was announced and which a later fact
    reopened, that fact's kind (an announcement is never retracted, and nothing more is announced about a
    resolved episode)."""

    alerts: int
    open_severity: Severity
    joined_high_alerted: bool
    alert_reasons: tuple[frozenset[str], ...] = ()
    alert_facts: tuple[str, ...] = ()
    undone_resolutions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClientOutcome:
    planted: bool
    rupture_start: int | None  # 0-based index of the planted drop's first session
    sessions: tuple[SessionOutcome, ...]
    improving: bool = True  # the client's ORS was drawn improving (b > 0)

    @property
    def alerts(self) -> int:
        return sum(s.alerts for s in self.sessions)


def session_id_of(client: PlannedClient, session: PlannedSession) -> str:
    return f"{client.client_id}-s{session.index + 1:02d}"


def fact_kind(fact: Fact) -> str:
    """``attendance``, or a rating's instrument and respondent, e.g. ``psq-client``."""
    if isinstance(fact, FeedbackRecorded):
        return f"{fact.instrument.value}-{fact.respondent.value}"
    return "attendance"


def facts_of(client: PlannedClient, session: PlannedSession) -> list[Fact]:
    """The session's facts in production order: the session record, the ORS, the client psq (when given), the
    client SRS, the therapist SRS; the ratings a minute apart."""
    session_id = session_id_of(client, session)
    at = EPOCH + timedelta(weeks=client.start_week + session.index)
    ids = {"clinic_id": client.clinic_id, "client_id": client.client_id, "session_id": session_id}
    facts: list[Fact] = [
        AttendanceRecorded(
            event_id=f"{session_id}-attendance",
            therapist_id=client.therapist_id,
            occurred_at=at,
            attendance=Attendance.ATTENDED if session.attended else Attendance.NO_SHOW,
            recorded_at=at + timedelta(minutes=50),
            **ids,
        )
    ]
    ratings: tuple[tuple[Instrument, Respondent, Sequence[float] | None, Sequence[str]], ...] = (
        (Instrument.ORS, Respondent.CLIENT, session.ors, _ORS_ITEMS),
        (Instrument.PSQ, Respondent.CLIENT, session.client_psq, _PSQ_ITEMS[: len(session.client_psq or ())]),
        (Instrument.SRS, Respondent.CLIENT, session.client_srs, _SRS_ITEMS),
        (Instrument.SRS, Respondent.THERAPIST, session.therapist_srs, _SRS_ITEMS),
    )
    for minute, (instrument, respondent, values, names) in enumerate(ratings, start=51):
        if values is None:
            continue
        facts.append(
            FeedbackRecorded(
                event_id=f"{session_id}-{instrument.value}-{respondent.value}",
                therapist_id=client.therapist_id,
                session_at=at,
                respondent=respondent,
                scores=validate_scores(instrument, dict(zip(names, values, strict=True))),
                submitted_at=at + timedelta(minutes=minute),
                **ids,
            )
        )
    return facts


def replay_client(client: PlannedClient, thresholds: Thresholds) -> ClientOutcome:
    history = ClientHistory.of(client.clinic_id, client.client_id)
    emitted = EmittedLog()
    assessment: ClientAssessment | None = None
    outcomes: list[SessionOutcome] = []
    reopened: set[str] = set()
    for session in client.sessions:
        before = assessment.timeline.open_episode if assessment is not None else None
        high_before = before is not None and emitted.highest_alert(before.episode_id) is Severity.HIGH
        reasons: list[frozenset[str]] = []
        by_fact: list[str] = []
        undone: list[str] = []
        for fact in facts_of(client, session):
            history = history.with_fact(fact)
            assessment = assess_client(history, thresholds, previous=assessment)
            announced = assessment.announce(emitted, fact.recorded_at)
            emitted = announced.log
            pushed = [
                _reasons(event)
                for event in announced.events
                if isinstance(event, RuptureSuspected) and event.event_id not in announced.from_history
            ]
            reasons.extend(pushed)
            by_fact.extend(fact_kind(fact) for _ in pushed)
            current = assessment.timeline.open_episode
            if current is not None and current.episode_id in emitted.resolved - reopened:
                reopened.add(current.episode_id)
                undone.append(fact_kind(fact))
        assert assessment is not None  # every session has at least its session record
        after = assessment.timeline.open_episode
        session_id = session_id_of(client, session)
        joined = (
            high_before
            and before is not None
            and after is not None
            and after.episode_id == before.episode_id
            and session_id in after.session_ids
        )
        severity = after.severity if after else Severity.NONE
        outcomes.append(
            SessionOutcome(len(reasons), severity, joined, tuple(reasons), tuple(by_fact), tuple(undone))
        )
    rupture = client.rupture
    return ClientOutcome(
        rupture is not None, rupture.start if rupture else None, tuple(outcomes), client.ors_gain > 0
    )


def _reasons(alert: RuptureSuspected) -> frozenset[str]:
    codes = {marker.code.value for marker in alert.markers}
    return frozenset(codes | {"stale"} if alert.stale else codes)


def _replay_chunk(args: tuple[Sequence[PlannedClient], Thresholds]) -> list[ClientOutcome]:
    clients, thresholds = args
    return [replay_client(client, thresholds) for client in clients]


def _chunks(clients: Sequence[PlannedClient], size: int) -> Iterator[Sequence[PlannedClient]]:
    for start in range(0, len(clients), size):
        yield clients[start : start + size]


def replay_population(
    clients: Sequence[PlannedClient], thresholds: Thresholds, workers: int = 1
) -> list[ClientOutcome]:
    """Every client's outcome, in the population's order. Clients are independent, so with ``workers`` > 1
    they are replayed in that many processes (the exact arithmetic of the rules is CPU-bound)."""
    if workers <= 1:
        return _replay_chunk((clients, thresholds))
    size = max(1, len(clients) // (workers * 8))  # several chunks per worker keep both busy to the end
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        parts = pool.map(_replay_chunk, [(chunk, thresholds) for chunk in _chunks(clients, size)])
    return [outcome for part in parts for outcome in part]
