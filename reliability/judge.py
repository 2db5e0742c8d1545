"""Comparing what the platform ended with against the oracle: Kafka, the scoring read model and the alerts.

- Kafka: every accepted event id is on ``client.events`` and scoring applied it (its ``alliance.updated`` names
  it); nothing of the run's clinics that was not accepted. A second record of an id (the intake retried after
  a crash) is counted apart (``copies``): consumers drop it.
- State: scoring's read model of every client (``GET /v1/clients/{id}/alliance`` with the clinic's read key)
  equals the oracle's assessment put through the same projection with the announcements the oracle expects
  (markers per session, episodes with their severity, resolution, alerts and whether they are from imported
  history, the summary).
- Alerts: the distinct deliveries received (a receiver deduplicates on ``webhook-id``, as
  docs/notify.md asks) match the expected alerts that are news exactly: none lost, none twice, none extra
  (an alert from history is pushed to no one). How many copies
  of a delivery arrived again after a crash is counted separately (``redelivered``).
"""

import asyncio
import json
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from aiokafka import TopicPartition

from reliability.oracle import AlertKey, AlertVerdict, Expectation, Produced, judge_alerts
from reliability.receiver import Mailbox, WebhookCall
from reliability.stream import StreamItem
from services.notify.alert import Recipient
from services.notify.planning import delivery_id
from services.scoring.views import ClientAlliance
from shared import topics
from shared.contracts import Severity
from shared.messaging.reading import read_to_end

# The intake publishes a client's session records and ratings on one topic, in the order it accepts them.
INBOUND = (topics.CLIENT_EVENTS,)


@dataclass(frozen=True)
class KafkaAccount:
    accepted: int
    present: int  # accepted ids found on the topics
    lost: int  # accepted ids missing from the topics
    copies: int  # records beyond the first with the same event id (consumers drop them by id)
    extra: int  # ids of the run's clinics that no 202 answered
    applied: int = 0  # accepted ids on the topics that scoring applied
    unapplied: int = 0  # accepted ids on the topics that scoring never applied

    @property
    def events_lost(self) -> int:
        """Acknowledged events that never reached scoring: missing from Kafka, or there and never applied."""
        return self.lost + self.unapplied


def kafka_account(
    records: Counter[str], accepted_ids: Collection[str], applied_ids: Collection[str]
) -> KafkaAccount:
    """``records``: how many records of each event id the topics hold; ``applied_ids``: the events scoring
    applied (``applied_events``)."""
    accepted = set(accepted_ids)
    present = accepted & records.keys()
    applied = present & set(applied_ids)
    return KafkaAccount(
        accepted=len(accepted),
        present=len(present),
        lost=len(accepted - present),
        copies=sum(n - 1 for n in records.values()),
        extra=len(records.keys() - accepted),
        applied=len(applied),
        unapplied=len(present - applied),
    )


async def read_topics(
    bootstrap: str, watched: Iterable[topics.Topic], keep: Any, within: float = 60.0
) -> list[Any]:
    """Every record of ``watched`` up to their current ends that ``keep`` returns something for."""
    found: list[Any] = []

    def collect(record: Any) -> None:
        kept = keep(record)
        if kept is not None:
            found.append(kept)

    partitions = [TopicPartition(t.name, p) for t in watched for p in range(t.partitions)]
    await read_to_end(bootstrap, partitions, collect, within)
    return found


def _inbound_id(prefix: str) -> Any:
    def keep(record: Any) -> str | None:
        try:
            document = json.loads(record.value)
        except ValueError:
            return None
        if not isinstance(document, dict) or not str(document.get("clinicid", "")).startswith(prefix):
            return None
        return str(document.get("id"))

    return keep


async def account_kafka(
    bootstrap: str, prefix: str, accepted_ids: Collection[str], applied_ids: Collection[str]
) -> KafkaAccount:
    records = Counter(await read_topics(bootstrap, INBOUND, _inbound_id(prefix)))
    return kafka_account(records, accepted_ids, applied_ids)


def _inbound_position(prefix: str) -> Any:
    def keep(record: Any) -> tuple[str, Produced] | None:
        event_id = _inbound_id(prefix)(record)
        if event_id is None:
            return None
        try:
            time = datetime.fromisoformat(str(json.loads(record.value)["time"]))
        except (KeyError, TypeError, ValueError):
            return None  # not an event scoring applies (it goes to the dead-letter topic)
        return event_id, Produced(record.offset, time)

    return keep


async def production_order(bootstrap: str, prefix: str) -> dict[str, Produced]:
    """Event id -> its first record on ``client.events``, for the run's clinics. A client's events share one
    partition, so comparing the offsets of one client's events gives the order they were produced in (a later
    copy of an event, after an intake retry, does not move it); the record's time is the one scoring
    announces the event's alerts at."""
    first: dict[str, Produced] = {}
    for event_id, produced in await read_topics(bootstrap, INBOUND, _inbound_position(prefix)):
        known = first.get(event_id)
        if known is None or produced.offset < known.offset:
            first[event_id] = produced
    return first


def reordered_clients(
    items: Sequence[StreamItem], event_ids: Mapping[str, str], produced: Mapping[str, Produced]
) -> list[str]:
    """Clients whose accepted events are not on Kafka in the order the driver sent them. The driver sends a
    client's next item only once the previous one was acknowledged (and a batch lists them in order), so any
    other order is the platform's doing: a producer that let a later write overtake an earlier one."""
    last: dict[tuple[str, str], int] = {}
    reordered: list[str] = []
    for item in items:  # stream order
        event_id = event_ids.get(item.item_id)
        position = produced.get(event_id) if event_id else None
        if position is None:
            continue  # not accepted, or missing from Kafka (counted as lost)
        client = (item.clinic_id, item.client_id)
        if client in last and position.offset < last[client]:
            reordered.append(f"{client[0]}/{client[1]}: {item.item_id} before an earlier item")
        last[client] = max(position.offset, last.get(client, -1))
    return reordered


async def state_differences(
    scoring_url: str, read_keys: Mapping[str, str], expectation: Expectation, concurrency: int = 8
) -> list[str]:
    """Clients whose stored read model differs from the oracle's (empty: all equal)."""
    differences: list[str] = []
    gate = asyncio.Semaphore(concurrency)

    async def check(http: httpx.AsyncClient, clinic: str, client: str, expected: ClientAlliance) -> None:
        async with gate:
            answer = await http.get(
                f"/v1/clients/{client}/alliance", headers={"Authorization": f"Bearer {read_keys[clinic]}"}
            )
        if answer.status_code != 200:
            differences.append(f"{clinic}/{client}: HTTP {answer.status_code}")
            return
        stored = ClientAlliance.model_validate(answer.json())
        if stored != expected:
            differences.append(f"{clinic}/{client}: {_first_difference(stored, expected)}")

    async with httpx.AsyncClient(base_url=scoring_url, timeout=20) as http:
        await asyncio.gather(
            *(
                check(http, clinic, client, expectation.alliance((clinic, client)))
                for clinic, client in expectation.assessments
            )
        )
    return sorted(differences)


def _first_difference(stored: ClientAlliance, expected: ClientAlliance) -> str:
    ours, theirs = stored.model_dump(mode="json"), expected.model_dump(mode="json")
    for name in ours:
        if ours[name] != theirs.get(name):
            return f"{name} differs (stored {str(ours[name])[:160]} / expected {str(theirs[name])[:160]})"
    return "differs"


@dataclass
class Delivered:
    """Alerts that reached the sinks, as (rupture id, severity, stale), one per distinct delivery."""

    alerts: list[AlertKey] = field(default_factory=list)
    redelivered: int = 0  # copies of a delivery already received (after a crash between send and record)
    unsigned: int = 0


def webhook_alerts(calls: Iterable[WebhookCall], prefix: str) -> Delivered:
    delivered = Delivered()
    seen: set[str] = set()
    for call in calls:
        if not str(call.body.get("clinic_id", "")).startswith(prefix):
            continue
        if not call.signature_valid:
            delivered.unsigned += 1
        if call.delivery_id in seen:
            delivered.redelivered += 1
            continue
        seen.add(call.delivery_id)
        body = call.body
        delivered.alerts.append((str(body["rupture_id"]), str(body["severity"]), bool(body["stale"])))
    return delivered


def email_alerts(mailbox: Mailbox, expectation: Expectation, addresses: Mapping[str, str]) -> Delivered:
    """E-mails carry no machine-readable rupture id, but their X-Alliance-Delivery header is derived from
    the alert (clinic, rupture, severity, reason, recipient): map each expected alert to its delivery id.

    A stale escalation at a level the episode already reached has the same delivery id as the alert that
    reached it (notify sends the therapist one e-mail per episode and level): the id stands for the first.
    """
    by_delivery: dict[str, AlertKey] = {}
    for key, alert in expectation.alert_details.items():
        address = addresses.get(alert.clinic_id)
        if address is not None:
            recipient = Recipient("therapist", alert.therapist_id, "email", address)
            identifier = delivery_id(alert.clinic_id, alert.episode_id, Severity(key[1]), "alert", recipient)
            by_delivery.setdefault(identifier, key)
    delivered = Delivered()
    seen: set[str] = set()
    for message in list(mailbox.messages):
        identifier = str(message["X-Alliance-Delivery"])
        if identifier in seen:
            delivered.redelivered += 1
            continue
        seen.add(identifier)
        unknown = f"unknown delivery {identifier} ({message['Subject']})"
        delivered.alerts.append(by_delivery.get(identifier, (unknown, "?", False)))
    return delivered


def judge(expectation: Expectation, delivered: Delivered) -> AlertVerdict:
    return judge_alerts(expectation.alerts, delivered.alerts)


def _applied(prefix: str) -> Any:
    def keep(record: Any) -> tuple[str, str] | None:
        try:
            document = json.loads(record.value)
            clinic, data = str(document["clinicid"]), document["data"]
            return (clinic, str(data["caused_by"])) if clinic.startswith(prefix) else None
        except (ValueError, KeyError, TypeError):
            return None

    return keep


async def applied_events(bootstrap: str, prefix: str) -> set[tuple[str, str]]:
    """(clinic, event id) of every inbound event scoring has applied so far: scoring stages one
    ``alliance.updated`` (``caused_by`` = the applied event) per application, in the same transaction."""
    return set(await read_topics(bootstrap, [topics.ALLIANCE_UPDATED], _applied(prefix)))
