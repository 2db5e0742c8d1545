"""What the platform must end with, computed from the stream alone with the pure domain.

The stream is fed, client by client, through the same adapter and domain the scoring service uses, each
client's events in the order they were produced on ``client.events`` (the order scoring applies them in); the
events each step owes are collected, and recorded in the client's ``EmittedLog`` as scoring records them: an
alert about a session older than the push horizon when its causing event reached the platform (the event's
time on Kafka) is from history, announced and shown as such but pushed to no one. A fault-free run and a run
with crashes, restarts and outages must both end exactly here: the same per-client state, announcements
included, and every alert that is news delivered exactly once.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reliability.stream import StreamItem
from services.scoring import domain
from services.scoring.projection import alliance_view
from services.scoring.translate import fact_from
from services.scoring.views import ClientAlliance
from shared.contracts import FEEDBACK_SUBMITTED, SESSION_COMPLETED, CloudEvent, EventKind

AlertKey = tuple[str, str, bool]  # rupture id, severity, stale
ClientKey = tuple[str, str]  # clinic id, client id


@dataclass(frozen=True)
class Produced:
    """Where and when an accepted event was produced on ``client.events`` (its first record)."""

    offset: int  # within the client's partition: the order scoring applies the client's events in
    time: datetime  # the envelope's time, set when the event reached the platform


@dataclass
class Expectation:
    assessments: dict[ClientKey, domain.ClientAssessment] = field(default_factory=dict)
    emitted: dict[ClientKey, domain.EmittedLog] = field(default_factory=dict)  # what scoring announced
    # The alerts that are news (notify pushes them), each with the domain event, in the order owed.
    alerts: set[AlertKey] = field(default_factory=set)
    alert_details: dict[AlertKey, domain.RuptureSuspected] = field(default_factory=dict)
    from_history: set[AlertKey] = field(default_factory=set)  # announced, recorded, never pushed
    resolved: set[str] = field(default_factory=set)

    def alliance(self, client: ClientKey) -> ClientAlliance:
        """The client's read model as scoring must store it: its final assessment and announcements."""
        return alliance_view(self.assessments[client], self.emitted[client])


def inbound_event(item: StreamItem, event_id: str, time: datetime) -> CloudEvent[Any]:
    kind: EventKind[Any] = SESSION_COMPLETED if item.kind == "session" else FEEDBACK_SUBMITTED
    data = kind.model.model_validate(item.body)
    return kind.envelope(
        data,
        clinic_id=item.clinic_id,
        client_id=item.client_id,
        source="/oracle",
        event_id=event_id,
        time=time,
    )


def expect(
    items: Iterable[StreamItem],
    event_ids: Mapping[str, str],
    thresholds: domain.Thresholds | None = None,
    produced: Mapping[str, Produced] | None = None,
) -> Expectation:
    """``event_ids`` maps each item id to the id the platform gave its event (from the 202 answers).

    ``produced`` tells, for each event id on ``client.events``, where and when it was produced: one client's
    events share a partition, so within a client the offsets give the order they were produced, the one
    scoring applies them in; the time is the event's as scoring reads it (when it reached the platform), the
    moment its alerts are announced at. Events not found there (none, or not yet read) follow, in the order
    of ``items``, as if produced now.
    """
    thresholds = thresholds or domain.Thresholds()
    produced = produced or {}
    by_client: dict[ClientKey, list[StreamItem]] = defaultdict(list)
    for item in items:
        by_client[(item.clinic_id, item.client_id)].append(item)
    expectation = Expectation()
    for (clinic, client), sent in by_client.items():
        history = domain.ClientHistory(clinic, client)
        emitted = domain.EmittedLog()
        assessment = domain.assess_client(history, thresholds)
        for item in production_order(sent, event_ids, produced):
            event_id = event_ids[item.item_id]
            known = produced.get(event_id)
            event = inbound_event(item, event_id, known.time if known else datetime.now(UTC))
            history = history.with_fact(fact_from(event))
            assessment = domain.assess_client(history, thresholds)
            # As scoring does: the push horizon counts from when the causing event reached the platform.
            announced = assessment.announce(emitted, event.time)
            owed, past, emitted = announced.events, announced.from_history, announced.log
            for owed_event in owed:
                if isinstance(owed_event, domain.RuptureSuspected):
                    key = (owed_event.episode_id, owed_event.severity.value, owed_event.stale)
                    if owed_event.event_id in past:
                        expectation.from_history.add(key)
                    else:
                        expectation.alerts.add(key)
                        expectation.alert_details[key] = owed_event
                else:
                    expectation.resolved.add(owed_event.episode_id)
        expectation.assessments[(clinic, client)] = assessment
        expectation.emitted[(clinic, client)] = emitted
    return expectation


def production_order(
    items: list[StreamItem], event_ids: Mapping[str, str], produced: Mapping[str, Produced]
) -> list[StreamItem]:
    """One client's items in the order their events were produced (a stable sort: unknown ones last)."""

    def position(item: StreamItem) -> float:
        known = produced.get(event_ids[item.item_id])
        return float("inf") if known is None else known.offset

    return sorted(items, key=position)


@dataclass(frozen=True)
class AlertVerdict:
    expected: int
    delivered: int
    lost: int
    duplicated: int
    extra: int

    @property
    def exact(self) -> bool:
        return self.lost == self.duplicated == self.extra == 0


def judge_alerts(expected: set[AlertKey], delivered: Iterable[AlertKey]) -> AlertVerdict:
    """Every expected alert delivered exactly once, and nothing else."""
    counts: dict[AlertKey, int] = defaultdict(int)
    for key in delivered:
        counts[key] += 1
    return AlertVerdict(
        expected=len(expected),
        delivered=sum(counts.values()),
        lost=len(expected - counts.keys()),
        duplicated=sum(n - 1 for n in counts.values() if n > 1),
        extra=len(counts.keys() - expected),
    )
