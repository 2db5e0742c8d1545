"""Each rule in plain words, as the views say it: what a marker saw and at what level, how an episode closed
(repaired and settled are not the same), why one is stale, and which came from imported history."""

from datetime import datetime

from services.scoring.views import AlertView, EpisodeView, GoalView, MarkerView, ResolutionView
from shared.recognition import RECOGNITION_WORDS
from shared.repair import STRATEGY_WORDS, TYPE_WORDS

SCORE_MARKERS = frozenset({"below_cutoff", "item_low"})


def _n(value: float) -> str:
    return f"{value:.1f}"


def marker_words(marker: MarkerView) -> str:
    """One marker in a sentence, with its actual level for this client (not the table's)."""
    seen, bound = _n(marker.value), _n(marker.threshold)
    match marker.code:
        case "below_cutoff":
            text = f"SRS total {seen} below the clinic cutoff {bound}"
        case "item_low":
            text = f"{marker.dimension or 'an'} item {seen} below {bound}"
        case "drop_from_last":
            text = f"SRS total {seen} fell at least a point from the last session (to {bound} or below)"
        case "drop_from_baseline":
            text = f"SRS total {seen} well below the client's own baseline (below {bound})"
        case "steep_drop":
            text = f"steep drop: SRS total {seen} (bound {bound})"
        case "ors_deterioration":
            text = f"ORS total {seen} at least 5 below the client's first ORS (bound {bound})"
        case "attendance":
            text = "missed or cancelled late, soon after an alliance marker or twice in a row"
        case "missing_feedback":
            text = f"{marker.value:.0f} attended sessions in a row without the client's SRS"
        case "blindspot":
            text = f"the therapist rated the session {seen} points above the client"
        case "reported_rupture":
            text = f"the client reported tension between you, resolved {marker.value:.0f} of 5 by the session's end"
        case "unrecognised_rupture":
            text = (
                "the client reported tension the therapist did not"
                if marker.value == 0
                else f"the therapist rated the tension {marker.value:.0f} points more resolved than the client"
            )
        case "therapist_reported_rupture":
            text = "the therapist reported tension the client did not"
        case "next_steps_mismatch":
            text = (
                "the client answered that the next steps of a shared note do not fit what they want"
                if marker.level != "low"
                else f"the client answered 'partly' to {marker.value:.0f} shared notes in a row"
            )
        case "goal_disagreement":
            text = f"the client and the therapist rated a goal {marker.value:g} points apart (at least {marker.threshold:g})"
        case "goal_setback":
            text = (
                f"the client rated a goal {marker.value:g}, well below their best earlier rating of it "
                f"(at or below {marker.threshold:g})"
            )
        case "not_on_track":
            expected = f", where {marker.expected:+.2f} was expected" if marker.expected is not None else ""
            text = (
                f"ORS change from intake {marker.value:+.1f}{expected}, below the expected curve's lower limit "
                f"{marker.threshold:+.2f} (model {marker.model_version or '?'})"
            )
        case _:
            text = f"{marker.code} ({seen} against {bound})"
    if marker.code in SCORE_MARKERS and marker.level == "low":
        text += ", but this is the client's usual"
    return f"{text} — {marker.level}"


def resolution_words(resolution: ResolutionView) -> str:
    match resolution.how:
        case "repaired":
            took = resolution.sessions_to_repair
            after = f" after {took} session{'' if took == 1 else 's'}" if took is not None else ""
            return f"repaired{after}: back to the client's usual"
        case "settled":
            return (
                "settled: the latest sessions were calmer, but not back to the client's usual (not a repair)"
            )
        case _:
            return f"by hand ({resolution.resolved_by or 'unknown'})"


def how_words(resolution: ResolutionView) -> str:
    """The short form, for a table cell."""
    match resolution.how:
        case "repaired":
            return "repaired"
        case "settled":
            return "settled (not a repair)"
        case _:
            return f"by hand ({resolution.resolved_by or 'unknown'})"


def stale_words(episode: EpisodeView) -> str:
    n = episode.sessions_since_opening
    return f"still open after {n} session{'' if n == 1 else 's'} and still hurting"


def recognition_words(episode: EpisodeView) -> str:
    return RECOGNITION_WORDS[episode.recognised_by]


HISTORY_WORDS = (
    "from imported history: its first alert was about a session older than the clinic's push horizon, "
    "so it was recorded and shown, not e-mailed"
)


def alert_words(alerts: list[AlertView]) -> str:
    if not alerts:
        return "no alert (below the clinic's alert threshold)"
    return ", ".join(f"{a.level} ({a.session_at:%Y-%m-%d})" for a in alerts)


def tag_words(episode: EpisodeView) -> str:
    """How the clinicians named an episode: its rupture type, then the strategies used."""
    parts = [TYPE_WORDS[episode.rupture_type]] if episode.rupture_type else []
    if episode.strategies:
        parts.append("repair: " + ", ".join(STRATEGY_WORDS[s] for s in episode.strategies))
    return "; ".join(parts)


def goal_status_words(goal: GoalView) -> str:
    """Whether a goal is active (and which gbo item rates it) or how and when it ended."""
    agreed = f"agreed {goal.agreed_at:%Y-%m-%d} (session {goal.agreed_session_id})"
    if goal.status == "active":
        return f"Active, rated as goal {goal.slot}; {agreed}"
    ended = f" on {goal.closed_at:%Y-%m-%d}" if goal.closed_at else ""
    how = {"met": "Met", "dropped": "Dropped", "replaced": "Replaced"}[goal.outcome or "replaced"]
    return f"{how}{ended} (session {goal.closed_session_id}); {agreed}"


def day_words(moment: datetime) -> str:
    """A date as a person says it: Tuesday 24 November 2026."""
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def total_words(total: float) -> str:
    """A total out of 40 without a needless ".0"."""
    return f"{total:g} out of 40"


def rating_words(rating: float) -> str:
    """A goal's rating out of 10, as a person says it."""
    return f"{rating:g} out of 10"


FILTERS = {
    "tag_words": tag_words,
    "day": day_words,
    "out_of_40": total_words,
    "out_of_10": rating_words,
    "marker_words": marker_words,
    "resolution_words": resolution_words,
    "how_words": how_words,
    "stale_words": stale_words,
    "recognition_words": recognition_words,
    "alert_words": alert_words,
    "goal_status_words": goal_status_words,
}
