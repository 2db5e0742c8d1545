"""Plain words for an alert: each marker as a sentence, the dimension involved, one suggested next step. Pure."""

from shared.contracts import MarkerV2, RuptureSuspectedV4
from shared.recognition import RECOGNITION_WORDS

# One step from the rupture-repair literature (Safran & Muran; Eubanks, Muran & Safran 2018) per dimension.
NEXT_STEPS = {
    "bond": "Attend to the bond: name the strain you may have sensed, and acknowledge your own part in it.",
    "goal": "Explore the disagreement about goals: ask what the client wants from therapy now, and renegotiate.",
    "task": "Explore the disagreement about tasks: ask how the way you work together suits the client.",
    "general": "Ask for feedback openly about the last session, and acknowledge your own part in what did not fit.",
}
DIMENSION_WORDS = {"bond": "bond", "goal": "goals", "task": "tasks", "general": "the session overall"}
# The SRS item behind each dimension, as the client saw it on the form.
ITEM_OF = {"bond": "relationship", "goal": "goals", "task": "approach", "general": "overall"}


def _n(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _signed(value: float | None) -> str:
    return "?" if value is None else f"{value:+g}"


def describe(marker: MarkerV2, rupture: RuptureSuspectedV4) -> str:
    value, bound = _n(marker.value), _n(marker.threshold)
    match marker.code:
        case "below_cutoff":
            text = f"SRS total {value}, below the clinic's cutoff of {bound}"
            if marker.level.value == "low":  # version 2.1: the client's usual is below the cutoff too
                return f"{text}, as usual for this client"
            if rupture.baseline is not None and marker.value is not None and marker.value < rupture.baseline:
                gap = rupture.baseline - marker.value
                text += f"; {_n(round(gap, 1))} points under this client's usual {_n(rupture.baseline)}"
            return text
        case "item_low":
            dimension = marker.dimension or "general"
            text = f"SRS {ITEM_OF.get(dimension, dimension)} item ({DIMENSION_WORDS.get(dimension, dimension)}) rated {value}, below {bound}"
            return f"{text}, as usual for this client" if marker.level.value == "low" else text
        case "drop_from_last":
            return f"SRS total {value}, down from the last session (at or below {bound})"
        case "drop_from_baseline":
            usual = f" of {_n(rupture.baseline)}" if rupture.baseline is not None else ""
            return f"SRS total {value}, below this client's usual range{usual} (under {bound})"
        case "steep_drop":
            return f"SRS total {value}, a steep drop (at or below {bound})"
        case "ors_deterioration":
            return f"ORS total {value}, worse than when therapy began (at or below {bound})"
        case "attendance":
            return "A missed or late-cancelled session after a warning sign, or several in a row"
        case "missing_feedback":
            return f"No client rating for {value} attended sessions in a row"
        case "blindspot":
            return (
                f"The therapist rated the session {value} points higher than the client did (flag at {bound})"
            )
        case "reported_rupture":
            resolved = {"high": "hardly resolved", "medium": "not fully resolved", "low": "mostly resolved"}
            return (
                f"The client reported tension between you in the session, {resolved[marker.level.value]} by "
                f"its end (resolution {value} of 5)"
            )
        case "unrecognised_rupture":
            if marker.value == 0:
                return "The client reported tension the therapist did not"
            return f"The therapist rated the tension {value} points more resolved than the client did"
        case "therapist_reported_rupture":
            return "The therapist reported tension the client did not report"
        case (
            "next_steps_mismatch"
        ):  # never the note's words or the client's comment: only that it did not fit
            if marker.level.value == "low":
                return (
                    f"The client answered 'partly' to {value} shared notes in a row: do the next steps fit?"
                )
            return "The client answered that the next steps of a shared note do not fit what they want"
        case "goal_disagreement":  # never the goal's words: they stay on the platform
            return f"Client and therapist rated progress on one of the client's goals {value} points apart"
        case "goal_setback":
            return f"The client rated progress on one of their goals {value} of 10, at or below {bound}"
        case "not_on_track":
            expected = _n(marker.expected)
            return (
                f"ORS {_signed(marker.value)} points since intake, where this clinic's clients of the same "
                f"intake band had {_signed(marker.expected) if marker.expected is not None else expected} by "
                f"now (lower limit {_signed(marker.threshold)}; model {marker.model_version or '?'})"
            )
    return f"{marker.code}: {value} (threshold {bound})"


def recognition_of(rupture: RuptureSuspectedV4) -> str:
    words = RECOGNITION_WORDS[rupture.recognised_by]
    return f"{words[0].upper()}{words[1:]}."


def dimension_of(rupture: RuptureSuspectedV4) -> str:
    """The alliance dimension most involved: that of the lowest-rated low item, else the alliance overall."""
    rated = [m for m in rupture.markers if m.dimension and m.value is not None]
    if not rated:
        return "general"
    lowest = min(rated, key=lambda m: m.value if m.value is not None else 0.0)
    return lowest.dimension or "general"


def next_step(dimension: str) -> str:
    return NEXT_STEPS.get(dimension, NEXT_STEPS["general"])
