"""The read model of one client, computed from its assessment once per change (never on a read)."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.scoring import domain
from services.scoring.domain import goals
from services.scoring.views import (
    AcknowledgementView,
    AlertLevel,
    AlertView,
    ClientAlliance,
    EpisodeView,
    GoalOutcomeName,
    GoalRatingView,
    GoalView,
    MarkerView,
    NoteView,
    RatingView,
    ResolutionView,
    SessionView,
    SummaryView,
)
from shared.contracts import CloudEvent, GoalsAgreedV1, NoteAnsweredV1, NoteSharedV1

# A session after all others, agreeing and closing nothing: the goals active in it are those active now.
_NOW = domain.Session("", datetime.max.replace(tzinfo=UTC), "", None, (), ())


def alliance_view(
    assessment: domain.ClientAssessment,
    emitted: domain.EmittedLog | None = None,
    session_views: Callable[[domain.MarkedSession], SessionView] | None = None,
) -> ClientAlliance:
    """``emitted``: what has been announced about the client's episodes (their alerts, and which are from
    imported history); without it the episodes show no alerts. ``session_views``: the view of a marked
    session, where the caller keeps those of sessions it has seen before (``session_view`` otherwise)."""
    session_views = session_views or session_view
    emitted = emitted or domain.EmittedLog()
    timeline = assessment.timeline
    summary = assessment.summary
    latest = assessment.sessions[-1] if assessment.sessions else None
    episodes = [episode_view(episode, assessment, emitted) for episode in timeline.episodes]
    return ClientAlliance(
        client_id=assessment.history.client_id,
        therapist_id=latest.session.therapist_id if latest else None,
        summary=SummaryView(
            session_count=summary.session_count,
            client_srs_count=summary.client_srs_count,
            latest_session_id=summary.latest_session_id,
            latest_session_at=summary.latest_session_at,
            latest_srs_total=number(summary.latest_srs_total),
            latest_severity=summary.latest_severity.value,
            baseline=number(summary.baseline),
            trend=number(summary.trend),
            episode_count=summary.episode_count,
            repaired_count=summary.repaired_count,
            resolved_by_hand_count=summary.resolved_by_hand_count,
            settled_count=summary.settled_count,
        ),
        open_episode=next((view for view in episodes if view.resolution is None), None),
        past_episodes=[view for view in episodes if view.resolution is not None],
        sessions=[session_views(marked) for marked in assessment.sessions],
    )


def note_views(events: Iterable[CloudEvent[Any]]) -> list[NoteView]:
    """The shared notes with their latest answers, newest first. Read from the stored events: the texts never
    enter the domain, whose rules read only whether and how a note was answered."""
    notes: dict[str, NoteSharedV1] = {}
    answers: dict[str, NoteAnsweredV1] = {}
    for event in events:
        data = event.data
        if isinstance(data, NoteSharedV1):
            notes[data.note_id] = data
        elif isinstance(data, NoteAnsweredV1):
            known = answers.get(data.note_id)
            if known is None or known.answered_at <= data.answered_at:
                answers[data.note_id] = data
    views = []
    for note in sorted(notes.values(), key=lambda n: (n.shared_at, n.note_id), reverse=True):
        answer = answers.get(note.note_id)
        views.append(
            NoteView(
                note_id=note.note_id,
                session_id=note.session_id,
                therapist_id=note.therapist_id,
                shared_at=note.shared_at,
                text=note.text,
                fit=answer.fit.value if answer else None,
                answered_at=answer.answered_at if answer else None,
                comment=answer.comment if answer else None,
            )
        )
    return views


def goal_views(assessment: domain.ClientAssessment, events: Iterable[CloudEvent[Any]]) -> list[GoalView]:
    """The goals agreed with the client: the active ones in slot order, then the ended ones, the latest ended
    first. Which goal is active, and which goal a rating's item names, is the domain's (``domain.goals``, on the
    assessment's sessions); only the words come from the stored ``goals.agreed`` events, as a note's do."""
    sessions = assessment.history.sessions
    if all(session.goals_agreed is None for session in sessions):
        return []
    agreements = {event.id: event.data for event in events if isinstance(event.data, GoalsAgreedV1)}
    texts: dict[str, str] = {}
    first: dict[str, tuple[str, datetime]] = {}
    ended: dict[str, tuple[GoalOutcomeName, int, str, datetime]] = {}
    before: goals.Slots = ()
    for i, session in enumerate(sessions):
        agreement = _winning_agreement(session)
        if agreement is not None:
            data = agreements.get(agreement.event_id)
            texts.update((goal.goal_id, goal.text) for goal in (data.goals if data else ()))
            for goal_id in agreement.goal_ids:
                first.setdefault(goal_id, (session.session_id, agreement.agreed_at))
                ended.pop(goal_id, None)  # agreed again: active again
        during = session.goals_agreed if session.goals_agreed is not None else before
        after = goals.active_goals(sessions[: i + 1], _NOW)
        for goal_id in sorted(goal for goal in {*before, *during} - {*after} if goal is not None):
            closing = _closing(session, goal_id)
            if closing is not None:
                ended[goal_id] = (closing.outcome.value, i, session.session_id, closing.closed_at)
            elif agreement is not None:  # a revision left it out without closing it
                ended[goal_id] = ("replaced", i, session.session_id, agreement.agreed_at)
        before = after
    ratings = _goal_ratings(sessions)
    active = [goal_id for goal_id in before if goal_id is not None]
    closed = sorted(ended, key=lambda goal_id: (ended[goal_id][1], ended[goal_id][3], goal_id), reverse=True)
    views = []
    for goal_id in [*active, *closed]:
        agreed_in, agreed_at = first[goal_id]
        end = ended.get(goal_id)
        views.append(
            GoalView(
                goal_id=goal_id,
                text=texts.get(goal_id, ""),
                agreed_session_id=agreed_in,
                agreed_at=agreed_at,
                slot=before.index(goal_id) + 1 if end is None else None,
                status="active" if end is None else "closed",
                outcome=end[0] if end else None,
                closed_session_id=end[2] if end else None,
                closed_at=end[3] if end else None,
                ratings=ratings.get(goal_id, []),
            )
        )
    return views


def _winning_agreement(session: domain.Session) -> domain.GoalsAgreed | None:
    """The session's agreement that counts: the latest recorded (its facts are in recording order)."""
    found = [fact for fact in session.facts if isinstance(fact, domain.GoalsAgreed)]
    return found[-1] if found else None


def _closing(session: domain.Session, goal_id: str) -> domain.GoalClosed | None:
    found = [f for f in session.facts if isinstance(f, domain.GoalClosed) and f.goal_id == goal_id]
    return found[-1] if found else None


def _goal_ratings(sessions: Sequence[domain.Session]) -> dict[str, list[GoalRatingView]]:
    """Each goal's ratings, client and therapist side by side, in the sessions where either rated it."""
    found: dict[str, list[GoalRatingView]] = {}
    pairs = zip(goals.client_ratings(sessions), goals.therapist_ratings(sessions), strict=True)
    for (session, client), (_, therapist) in pairs:
        for goal_id in dict.fromkeys([*client, *therapist]):
            found.setdefault(goal_id, []).append(
                GoalRatingView(
                    session_id=session.session_id,
                    occurred_at=session.occurred_at,
                    client=number(client.get(goal_id)),
                    therapist=number(therapist.get(goal_id)),
                )
            )
    return found


def episode_therapist(episode: domain.RuptureEpisode, assessment: domain.ClientAssessment) -> str:
    """The therapist of the session that opened the episode: whoever was alerted about it."""
    return next(
        m.session.therapist_id for m in assessment.sessions if m.session_id == episode.opening_session_id
    )


def episode_view(
    episode: domain.RuptureEpisode,
    assessment: domain.ClientAssessment,
    emitted: domain.EmittedLog | None = None,
) -> EpisodeView:
    emitted = emitted or domain.EmittedLog()
    resolution, ack = episode.resolution, episode.acknowledgement
    return EpisodeView(
        rupture_id=episode.episode_id,
        therapist_id=episode_therapist(episode, assessment),
        opening_session_id=episode.opening_session_id,
        opened_at=episode.opened_at,
        severity=episode.severity.value,
        stale=episode.stale,
        session_ids=list(episode.session_ids),
        sessions_since_opening=episode.sessions_since_opening,
        pre_episode_mean=number(episode.pre_episode_mean),
        resolution=ResolutionView(
            how=resolution.how.value,
            resolved_at=resolution.resolved_at,
            session_id=resolution.session_id,
            sessions_to_repair=resolution.sessions_to_repair,
            note=resolution.note,
            resolved_by=resolution.resolved_by,
        )
        if resolution
        else None,
        acknowledgement=AcknowledgementView(
            acknowledged_by=ack.acknowledged_by, acknowledged_at=ack.acknowledged_at
        )
        if ack
        else None,
        recognised_by=episode.recognition.value,
        rupture_type=episode.tags.rupture_type,
        strategies=list(episode.tags.strategies),
        from_history=episode.episode_id in emitted.from_history,
        alerts=list(announced_alerts(episode, assessment, emitted)),
    )


def announced_alerts(
    episode: domain.RuptureEpisode, assessment: domain.ClientAssessment, emitted: domain.EmittedLog
) -> Iterator[AlertView]:
    """The alerts the log says were announced for the episode, each dated by the session the timeline says it
    was about. A stale escalation is recorded in the log as a high alert too: that high counts once, as the
    stale alert, unless the timeline holds a high alert of its own before it."""
    alerts = {
        ("stale" if event.stale else event.severity.value): event
        for event in assessment.timeline.events
        if isinstance(event, domain.RuptureSuspected) and event.episode_id == episode.episode_id
    }
    levels: list[AlertLevel] = [
        level.value  # type: ignore[misc]  # alerted levels are never none
        for eid, level in sorted(emitted.alerted, key=lambda alert: alert[1])
        if eid == episode.episode_id
    ]
    if episode.episode_id in emitted.stale_alerted:
        if "high" not in alerts and "high" in levels:
            levels.remove("high")
        levels.append("stale")
    for level in levels:
        event = alerts.get(level)
        yield AlertView(
            level=level,
            session_id=event.session_id if event else episode.opening_session_id,
            session_at=event.session_at if event else episode.opened_at,
        )


def session_view(marked: domain.MarkedSession) -> SessionView:
    session = marked.session
    return SessionView(
        session_id=session.session_id,
        occurred_at=session.occurred_at,
        therapist_id=session.therapist_id,
        attendance=session.attendance.value if session.attendance else None,
        counts=session.counts,
        srs_total=number(marked.srs_total),
        baseline=number(marked.baseline),
        severity=marked.severity.value,
        markers=[marker_view(marker) for marker in marked.markers],
        ratings=[
            RatingView(
                instrument=fact.instrument.value,
                respondent=fact.respondent.value,
                total=None if fact.instrument is domain.Instrument.PSQ else float(fact.scores.total),
                items={name: float(value) for name, value in fact.scores.items},
            )
            for fact in session.feedback
        ],
    )


def marker_view(marker: domain.Marker) -> MarkerView:
    return MarkerView(
        code=marker.code.value,
        family=marker.family.value,
        level=marker.level.value,
        value=float(marker.observed),
        threshold=float(marker.threshold),
        dimension=marker.dimension.value if marker.dimension else None,
        expected=float(marker.expected) if marker.expected is not None else None,
        model_version=marker.model,
    )


def number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
