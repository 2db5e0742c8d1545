"""Building and publishing the inbound events of one test client, straight onto the real topics."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.contracts import (
    FEEDBACK_SUBMITTED,
    GOAL_CLOSED,
    GOALS_AGREED,
    NOTE_ANSWERED,
    NOTE_SHARED,
    RUPTURE_ACKNOWLEDGED,
    SESSION_COMPLETED,
    Attendance,
    CloudEvent,
    EventKind,
    FeedbackSubmittedV1,
    FeedbackSubmittedV2,
    Goal,
    GoalClosedV1,
    GoalOutcome,
    GoalsAgreedV1,
    Instrument,
    NoteAnsweredV1,
    NoteFit,
    NoteSharedV1,
    Respondent,
    RuptureAcknowledgedV2,
    SessionCompletedV1,
    encode,
)

SOURCE = "/tests/scoring"
SRS_ITEMS = ("relationship", "goals", "approach", "overall")
# Sessions a week apart, ending last week: recent enough for the clinic summary's "active".
START = datetime.now(UTC).replace(microsecond=0) - timedelta(weeks=12)


def session_at(n: int) -> datetime:
    return START + timedelta(weeks=n - 1)


def srs_items(total: str) -> dict[str, float]:
    """``total`` spread over the four items in tenths (37.5 -> 9.4, 9.4, 9.4, 9.3)."""
    part, remainder = divmod(int(Decimal(total) * 10), 4)
    return {name: (part + (1 if i < remainder else 0)) / 10 for i, name in enumerate(SRS_ITEMS)}


@dataclass
class ClientStream:
    clinic_id: str
    client_id: str
    therapist_id: str = "t-1"
    sent: list[tuple[bytes, bytes]] = field(default_factory=list)

    @property
    def key(self) -> bytes:
        return f"{self.clinic_id}:{self.client_id}".encode()

    def envelope(self, kind: EventKind[Any], data: Any, event_id: str) -> CloudEvent[Any]:
        return kind.envelope(
            data, clinic_id=self.clinic_id, client_id=self.client_id, source=SOURCE, event_id=event_id
        )

    def session(self, n: int, attendance: str = "attended") -> CloudEvent[SessionCompletedV1]:
        data = SessionCompletedV1(
            session_id=f"s{n:02d}",
            therapist_id=self.therapist_id,
            client_id=self.client_id,
            occurred_at=session_at(n),
            attendance=Attendance(attendance),
            scheduled_minutes=50,
        )
        return self.envelope(SESSION_COMPLETED, data, f"{self.client_id}-att-{n}")

    def srs(self, n: int, total: str) -> CloudEvent[FeedbackSubmittedV1]:
        data = FeedbackSubmittedV1(
            session_id=f"s{n:02d}",
            therapist_id=self.therapist_id,
            client_id=self.client_id,
            session_at=session_at(n),
            instrument=Instrument.SRS,
            respondent=Respondent.CLIENT,
            items=srs_items(total),
            comment="private words that must never leave the database",
            submitted_at=session_at(n) + timedelta(hours=1),
        )
        return self.envelope(FEEDBACK_SUBMITTED, data, f"{self.client_id}-srs-{n}")

    def note(self, n: int, text: str) -> CloudEvent[NoteSharedV1]:
        data = NoteSharedV1(
            note_id=f"n-{n}",
            session_id=f"s{n:02d}",
            therapist_id=self.therapist_id,
            client_id=self.client_id,
            session_at=session_at(n),
            text=text,
            shared_at=session_at(n) + timedelta(hours=3),
        )
        return self.envelope(NOTE_SHARED, data, f"{self.client_id}-note-{n}")

    def goals(self, n: int, *texts: str) -> CloudEvent[GoalsAgreedV1]:
        """Goals g-1, g-2 ... with these texts, agreed in session n."""
        data = GoalsAgreedV1(
            client_id=self.client_id,
            therapist_id=self.therapist_id,
            session_id=f"s{n:02d}",
            session_at=session_at(n),
            goals=[Goal(goal_id=f"g-{k}", text=text) for k, text in enumerate(texts, start=1)],
            agreed_at=session_at(n) + timedelta(minutes=50),
        )
        return self.envelope(GOALS_AGREED, data, f"{self.client_id}-goals-{n}")

    def goal_closed(self, n: int, goal_id: str, outcome: str = "met") -> CloudEvent[GoalClosedV1]:
        data = GoalClosedV1(
            client_id=self.client_id,
            therapist_id=self.therapist_id,
            session_id=f"s{n:02d}",
            session_at=session_at(n),
            goal_id=goal_id,
            outcome=GoalOutcome(outcome),
            closed_at=session_at(n) + timedelta(minutes=55),
        )
        return self.envelope(GOAL_CLOSED, data, f"{self.client_id}-closed-{n}-{goal_id}")

    def gbo(self, n: int, respondent: str = "client", **items: int) -> CloudEvent[FeedbackSubmittedV1]:
        data = FeedbackSubmittedV1(
            session_id=f"s{n:02d}",
            therapist_id=self.therapist_id,
            client_id=self.client_id,
            session_at=session_at(n),
            instrument=Instrument.GBO,
            respondent=Respondent(respondent),
            items={name: float(value) for name, value in items.items()},
            submitted_at=session_at(n) + timedelta(hours=1),
        )
        return self.envelope(FEEDBACK_SUBMITTED, data, f"{self.client_id}-gbo-{respondent}-{n}")

    def answer(self, n: int, fit: str, comment: str | None = None) -> CloudEvent[NoteAnsweredV1]:
        data = NoteAnsweredV1(
            note_id=f"n-{n}",
            session_id=f"s{n:02d}",
            therapist_id=self.therapist_id,
            client_id=self.client_id,
            session_at=session_at(n),
            fit=NoteFit(fit),
            comment=comment,
            answered_at=session_at(n) + timedelta(days=2),
        )
        return self.envelope(NOTE_ANSWERED, data, f"{self.client_id}-answer-{n}")

    def acknowledgement(
        self, rupture_id: str, by: str, at: datetime, **tags: Any
    ) -> CloudEvent[RuptureAcknowledgedV2]:
        data = RuptureAcknowledgedV2(
            **tags,
            rupture_id=rupture_id,
            therapist_id=self.therapist_id,
            client_id=self.client_id,
            acknowledged_by=by,
            acknowledged_at=at,
            via="link",
        )
        return self.envelope(RUPTURE_ACKNOWLEDGED, data, f"{self.client_id}-ack-{rupture_id}")


KINDS: dict[type[Any], EventKind[Any]] = {
    SessionCompletedV1: SESSION_COMPLETED,
    FeedbackSubmittedV1: FEEDBACK_SUBMITTED,
    FeedbackSubmittedV2: FEEDBACK_SUBMITTED,
    RuptureAcknowledgedV2: RUPTURE_ACKNOWLEDGED,
    NoteSharedV1: NOTE_SHARED,
    NoteAnsweredV1: NOTE_ANSWERED,
    GoalsAgreedV1: GOALS_AGREED,
    GoalClosedV1: GOAL_CLOSED,
}


class Publisher:
    """Publishes like any producer would: the CloudEvent's JSON, keyed ``clinic:client``."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def event(self, event: CloudEvent[Any], times: int = 1) -> None:
        for _ in range(times):  # the same bytes again: an exact duplicate
            await self.raw(KINDS[type(event.data)].topic.name, (event.subject or "").encode(), encode(event))

    async def raw(self, topic: str, key: bytes, value: bytes) -> None:
        await self.producer.send_and_wait(topic, value, key=key)


def body(value: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(value)
    return document
