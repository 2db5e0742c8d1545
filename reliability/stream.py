"""A realistic multi-clinic stream with planted rupture and repair patterns.

Several clinics, therapists and clients; weekly sessions with the session record, the client's ORS before and
SRS after, the therapist's own SRS, and a WAI-SR every fourth session. Each client follows one planted pattern,
so the stream contains healthy alliances, V-shaped ruptures that are repaired, slow declines, no-shows after a
rupture, therapist blind spots and missing feedback. Seeded: the same arguments give the same stream.
"""

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

# The stream's last week ends a few days before the run: alerts about it are news, not imported history
# (older than the clinics' push horizon they would be recorded but never pushed, and nothing reached the sinks).
LAST_WEEK_ENDS_DAYS_AGO = 3
PATTERNS = ("steady", "v_repair", "decline", "noshow_after_dip", "blindspot", "missing_feedback")
_ITEM_IDS = uuid.UUID("0c7f5f0e-8d5e-4d4c-9f1d-6f1d1f0b7a11")

Kind = Literal["session", "feedback"]


@dataclass(frozen=True)
class StreamItem:
    """One request the driver sends: its endpoint kind, the clinic it belongs to, and the JSON body."""

    item_id: str  # also the Idempotency-Key: a retried send is the same request
    kind: Kind
    clinic_id: str
    body: dict[str, Any]

    @property
    def client_id(self) -> str:
        return str(self.body["client_id"])


def split_total(total: float, items: int = 4) -> list[float]:
    """``items`` values of one decimal, within 0-10, that sum exactly to ``total``."""
    tenths = round(total * 10)
    base, extra = divmod(tenths, items)
    return [(base + (1 if i < extra else 0)) / 10 for i in range(items)]


def _srs_totals(pattern: str, sessions: int, rng: random.Random) -> list[float | None]:
    healthy = [round(rng.uniform(37.0, 39.5), 1) for _ in range(sessions)]
    if pattern == "v_repair":
        healthy[sessions // 2] = 29.0
    elif pattern == "decline":
        healthy = [round(39.0 - 1.6 * i, 1) for i in range(sessions)]
    elif pattern == "noshow_after_dip":
        healthy[2] = 33.0
    elif pattern == "missing_feedback":
        return [t if i not in (3, 4) else None for i, t in enumerate(healthy)]
    elif pattern == "blindspot":
        healthy[sessions // 2] = 33.5
    return list(healthy)


def _attendance(pattern: str, session: int) -> str:
    if pattern == "noshow_after_dip" and session in (3, 4):
        return "no_show" if session == 3 else "late_cancel"
    return "attended"


def generate(
    clinics: int = 3,
    therapists: int = 3,
    clients: int = 4,
    sessions: int = 8,
    seed: int = 11,
    prefix: str = "",
) -> list[StreamItem]:
    """The stream in sending order: session by session across all clients (week by week).

    ``prefix`` starts every clinic id, so runs on shared topics each have clinics (and item ids) of their own.
    """
    rng = random.Random(seed)
    start = _start(sessions)
    people = [
        (f"{prefix}clinic-{c}", f"t-{c}-{t}", f"c-{c}-{t}-{k}", PATTERNS[(c + t + k) % len(PATTERNS)])
        for c in range(clinics)
        for t in range(therapists)
        for k in range(clients)
    ]
    plans = {client: _srs_totals(pattern, sessions, rng) for _, _, client, pattern in people}
    items: list[StreamItem] = []
    for week in range(sessions):
        for clinic, therapist, client, pattern in people:
            at = start + timedelta(weeks=week, minutes=rng.randrange(0, 600))
            items += _session_items(clinic, therapist, client, pattern, week, at, plans[client][week], rng)
    return items


def clinics_for(items: int, therapists: int = 3, clients: int = 4, sessions: int = 8) -> int:
    """The fewest clinics of that shape whose stream has at least ``items`` items: a stream to send at a
    rate for a number of seconds (at 200/s for 60 s, 12 000 items: about 380 clients of 8 sessions)."""

    # A clinic's size depends on its clients' patterns, which cycle with the clinic's number: estimate from
    # a whole cycle, then add clinics while short.
    def size(clinics: int) -> int:
        return len(generate(clinics=clinics, therapists=therapists, clients=clients, sessions=sessions))

    clinics = max(1, math.ceil(items * len(PATTERNS) / size(len(PATTERNS))))
    while size(clinics) < items:
        clinics += 1
    return clinics


def _start(sessions: int) -> datetime:
    """09:00 UTC on the first week's day, so that the last week starts a few days ago (the same day gives
    the same start: a run that generates the stream twice gets the same items)."""
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    return today - timedelta(days=LAST_WEEK_ENDS_DAYS_AGO, weeks=sessions - 1)


def _session_items(
    clinic: str,
    therapist: str,
    client: str,
    pattern: str,
    week: int,
    at: datetime,
    srs: float | None,
    rng: random.Random,
) -> list[StreamItem]:
    session_id = f"{client}-s{week}"
    attendance = _attendance(pattern, week)
    common = {"session_id": session_id, "therapist_id": therapist, "client_id": client}
    out = [
        _item(
            clinic,
            "session",
            {
                **common,
                "occurred_at": at.isoformat(),
                "attendance": attendance,
                "scheduled_minutes": 50,
                **({"attended_minutes": 50} if attendance == "attended" else {}),
            },
        )
    ]
    if attendance != "attended":
        return out

    def rating(instrument: str, respondent: str, items: dict[str, float], minutes: int) -> StreamItem:
        return _item(
            clinic,
            "feedback",
            {
                **common,
                "session_at": at.isoformat(),
                "instrument": instrument,
                "respondent": respondent,
                "items": items,
                "submitted_at": (at + timedelta(minutes=minutes)).isoformat(),
            },
        )

    ors = split_total(min(40.0, 20.0 + 1.5 * week + rng.uniform(0, 2)))
    out.append(
        rating(
            "ors",
            "client",
            dict(zip(("individual", "interpersonal", "social", "overall"), ors, strict=True)),
            0,
        )
    )
    if srs is not None:
        out.append(
            rating(
                "srs",
                "client",
                dict(zip(("relationship", "goals", "approach", "overall"), split_total(srs), strict=True)),
                55,
            )
        )
    therapist_total = (
        39.5 if pattern == "blindspot" else min(40.0, (srs or 37.0) + rng.choice((-0.5, 0.0, 0.5)))
    )
    out.append(
        rating(
            "srs",
            "therapist",
            dict(
                zip(
                    ("relationship", "goals", "approach", "overall"),
                    split_total(therapist_total),
                    strict=True,
                )
            ),
            60,
        )
    )
    if week % 4 == 3:
        out.append(rating("wai_sr", "client", {f"q{i}": rng.choice((3, 4, 5)) for i in range(1, 13)}, 57))
    return out


def _item(clinic: str, kind: Kind, body: dict[str, Any]) -> StreamItem:
    key = f"{clinic}|{kind}|{body['session_id']}|{body.get('instrument', '')}|{body.get('respondent', '')}"
    return StreamItem(str(uuid.uuid5(_ITEM_IDS, key)), kind, clinic, body)
