"""Synthetic clinics for the expected trajectories: clients whose ORS rises as b · ln(t) from their intake, with
b spread evenly around the clinic's gain (so the residuals have a lower quartile below the curve), and a steady
client SRS, so that no marker but not_on_track can fire."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.contracts import (
    FEEDBACK_SUBMITTED,
    CloudEvent,
    FeedbackSubmittedV2,
    Instrument,
    Respondent,
    encode,
)

SOURCE = "/tests/trajectories"
ORS_ITEMS = ("individual", "interpersonal", "social", "overall")
SRS_ITEMS = ("relationship", "goals", "approach", "overall")
STEADY_SRS = 38.0


def items(names: tuple[str, ...], total: float) -> dict[str, float]:
    """``total`` (to the tenth) spread over the items in tenths: 17.3 -> 4.4, 4.3, 4.3, 4.3."""
    part, remainder = divmod(round(total * 10), len(names))
    return {name: (part + (1 if i < remainder else 0)) / 10 for i, name in enumerate(names)}


@dataclass(frozen=True)
class SyntheticClient:
    clinic_id: str
    client_id: str
    ors: tuple[float, ...]  # one ORS total a session, to the tenth
    first_session_at: datetime
    therapist_id: str = "t-1"

    def session_at(self, n: int) -> datetime:
        return self.first_session_at + timedelta(days=n - 1)

    def rating(self, n: int, instrument: Instrument, total: float) -> CloudEvent[FeedbackSubmittedV2]:
        names = ORS_ITEMS if instrument is Instrument.ORS else SRS_ITEMS
        data = FeedbackSubmittedV2(
            session_id=f"s{n:02d}",
            therapist_id=self.therapist_id,
            client_id=self.client_id,
            session_at=self.session_at(n),
            instrument=instrument,
            respondent=Respondent.CLIENT,
            items=items(names, total),
            submitted_at=self.session_at(n) + timedelta(hours=1),
        )
        return FEEDBACK_SUBMITTED.envelope(
            data,
            clinic_id=self.clinic_id,
            client_id=self.client_id,
            source=SOURCE,
            event_id=f"{self.client_id}-{instrument.value}-{n}",
        )

    def session(self, n: int) -> list[CloudEvent[FeedbackSubmittedV2]]:
        """Session ``n``'s ratings: the steady SRS, and the ORS when the client has one for it."""
        srs = [self.rating(n, Instrument.SRS, STEADY_SRS)]
        return srs + ([self.rating(n, Instrument.ORS, self.ors[n - 1])] if n <= len(self.ors) else [])

    def events(self) -> list[CloudEvent[FeedbackSubmittedV2]]:
        return [event for n in range(1, len(self.ors) + 1) for event in self.session(n)]


def improving_clinic(
    clinic_id: str,
    count: int,
    sessions: int,
    first_session_at: datetime,
    gain: float = 4.0,
    not_improving_every: int = 0,
) -> list[SyntheticClient]:
    """``count`` clients of the 15-19.9 intake band, gains spread evenly over ``gain`` ± 2; with
    ``not_improving_every`` = k, every k-th client's ORS stays at intake (a clinic's clients who do not
    improve: some of them fall below any lower limit)."""
    clients = []
    for i in range(count):
        b = gain - 2 + 4 * i / max(count - 1, 1)
        if not_improving_every and i % not_improving_every == 0:
            b = 0.0
        intake = 15.5 + (i % 9) * 0.5
        ors = tuple(round(intake + b * math.log(t), 1) for t in range(1, sessions + 1))
        clients.append(SyntheticClient(clinic_id, f"c{i:03d}", ors, first_session_at))
    return clients


async def publish(producer: AIOKafkaProducer, events: list[CloudEvent[Any]]) -> None:
    """As the intake publishes them: on client.events, keyed by client, one client's in order."""
    sent = [
        await producer.send(FEEDBACK_SUBMITTED.topic.name, encode(event), key=(event.subject or "").encode())
        for event in events
    ]
    for delivery in sent:
        await delivery
