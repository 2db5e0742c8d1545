"""What the platform must end with, computed from the stream alone with the pure domain.

The stream is fed, client by client, through the same adapter and domain the scoring service uses, each
client's events in the order they were produced on ``client.events`` (the order scoring applies them in); the
events each step owes are collected. A fault-free run and a run with crashes, restarts and
outages must both end exactly here: the same per-client state and every owed alert delivered exactly once.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reliability.stream import StreamItem
from services.scoring import domain
from services.scoring.translate import fact_from
from shared.contracts import FEEDBACK_SUBMITTED, SESSION_COMPLETED, CloudEvent, EventKind

AlertKey = tuple[str, str, bool]  # rupture id, severity, stale


@dataclass
class Expectation:
    assessments: dict[tuple[str, str], domain.ClientAssessment] = field(default_factory=dict)
    alerts: set[AlertKey] = field(default_factory=set)
    alert_details: dict[AlertKey, domain.RuptureSuspected] = field(default_factory=dict)
    resolved: set[str] = field(default_factory=set)


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
    produced: Mapping[str, int] | None = None,
) -> Expectation:
    """``event_ids`` maps each item id to the id the platform gave its event (from the 202 answers).

    ``produced`` maps an event id to the offset of its first record on ``client.events``: one client's events
    share a partition, so within a client it is the order they were produced, the one scoring applies them
    in. Events not found there (none, or not yet read) follow, in the order of ``items``.
    """
    thresholds = thresholds or domain.Thresholds()
    by_client: dict[tuple[str, str], list[StreamItem]] = defaultdict(list)
    for item in items:
        by_client[(item.clinic_id, item.client_id)].append(item)
    expectation = Expectation()
    for (clinic, client), sent in by_client.items():
        client_items = production_order(sent, event_ids, produced or {})
        history = domain.ClientHistory(clinic, client)
        emitted = domain.EmittedLog()
        assessment = domain.assess_client(history, thresholds)
        for item in client_items:
            occurred = item.body.get("occurred_at") or item.body["session_at"]
            event = inbound_event(item, event_ids[item.item_id], datetime.fromisoformat(occurred))
            history = history.with_fact(fact_from(event))
            assessment = domain.assess_client(history, thresholds)
            owed = assessment.owed_events(emitted)
            emitted = emitted.record(owed)
            for owed_event in owed:
                if isinstance(owed_event, domain.RuptureSuspected):
                    key = (owed_event.episode_id, owed_event.severity.value, owed_event.stale)
                    expectation.alerts.add(key)
                    expectation.alert_details[key] = owed_event
                else:
                    expectation.resolved.add(owed_event.episode_id)
        expectation.assessments[(clinic, client)] = assessment
    return expectation


def production_order(
    items: list[StreamItem], event_ids: Mapping[str, str], produced: Mapping[str, int]
) -> list[StreamItem]:
    """One client's items in the order their events were produced (a stable sort: unknown ones last)."""
    unknown = float("inf")
    return sorted(items, key=lambda item: produced.get(event_ids[item.item_id], unknown))


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
