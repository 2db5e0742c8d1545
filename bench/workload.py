"""A synthetic multi-clinic stream of client SRS ratings, as ready-to-send Kafka records.

Each client has a run of sessions, one week apart; most ratings are healthy, and every fifth client has a dip
that opens a rupture episode (and so an alert). Seeded, so every run sends the same stream.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.contracts import FEEDBACK_SUBMITTED, FeedbackSubmittedV2, encode
from shared.topics import message_key

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes
    value: bytes
    client_id: str


def srs_items(total: float, rng: random.Random) -> dict[str, float]:
    """Four items summing to about ``total``, each within 0-10 with one decimal."""
    base = total / 4
    items = [min(10.0, max(0.0, round(base + rng.uniform(-0.3, 0.3), 1))) for _ in range(4)]
    return dict(zip(("relationship", "goals", "approach", "overall"), items, strict=True))


def feedback_stream(
    clients: int, sessions: int, *, clinics: int = 5, seed: int = 7, tag: str = "b"
) -> list[Record]:
    rng = random.Random(seed)
    records: list[Record] = []
    for number in range(clients):
        clinic_id, client_id = f"clinic-{number % clinics}", f"{tag}-c{number}"
        therapist_id = f"{tag}-t{number % 40}"
        dips = number % 5 == 0
        for session in range(sessions):
            total = 30.0 if dips and session == sessions // 2 else rng.uniform(36.5, 39.5)
            at = START + timedelta(weeks=session)
            data = FeedbackSubmittedV2(
                session_id=f"{client_id}-s{session}",
                therapist_id=therapist_id,
                client_id=client_id,
                session_at=at,
                instrument="srs",
                respondent="client",
                items=srs_items(total, rng),
                submitted_at=at + timedelta(hours=1),
            )
            records.append(_feedback_record(clinic_id, client_id, data))
    return records


def resubmission_stream(
    clients: int, resubmissions: int, *, clinics: int = 5, seed: int = 7, tag: str = "r"
) -> list[Record]:
    """Each client's rating of one session sent ``resubmissions`` times, as a client system resending it
    without an Idempotency-Key produces: the same session and items, a new event id each time, and a
    ``submitted_at`` the intake sets on arrival, a few seconds after the previous one."""
    rng = random.Random(seed)
    records: list[Record] = []
    for number in range(clients):
        clinic_id, client_id = f"clinic-{number % clinics}", f"{tag}-c{number}"
        items = srs_items(rng.uniform(36.5, 39.5), rng)
        for attempt in range(resubmissions):
            data = FeedbackSubmittedV2(
                session_id=f"{client_id}-s0",
                therapist_id=f"{tag}-t{number % 40}",
                client_id=client_id,
                session_at=START,
                instrument="srs",
                respondent="client",
                items=items,
                submitted_at=START + timedelta(hours=1, seconds=5 * attempt),
            )
            records.append(_feedback_record(clinic_id, client_id, data))
    return records


def _feedback_record(clinic_id: str, client_id: str, data: FeedbackSubmittedV2) -> Record:
    event = FEEDBACK_SUBMITTED.envelope(data, clinic_id=clinic_id, client_id=client_id, source="/bench")
    return Record(FEEDBACK_SUBMITTED.topic.name, message_key(clinic_id, client_id), encode(event), client_id)


def low_srs_feedback(client_id: str, session_id: str) -> dict[str, object]:
    """An HTTP body whose first-session total of 30 opens an episode and alerts at once. The session is an
    hour old: one older than the push horizon would be history, recorded but never pushed."""
    return {
        "session_id": session_id,
        "therapist_id": "bench-t",
        "client_id": client_id,
        "session_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "instrument": "srs",
        "respondent": "client",
        "items": {"relationship": 7.5, "goals": 7.5, "approach": 7.5, "overall": 7.5},
    }
