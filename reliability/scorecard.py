"""One row per scenario, printed as a table (Markdown, so the README can show it as is)."""

from collections.abc import Iterable
from dataclasses import dataclass, field

COLUMNS = (
    ("scenario", "scenario"),
    ("events in", "events_in"),
    ("acknowledged", "acknowledged"),
    ("events/s", "rate"),
    ("accounted for", "accounted"),
    ("lost", "lost"),
    ("duplicated", "duplicated"),
    ("alerts expected", "alerts_expected"),
    ("alerts delivered", "alerts_delivered"),
    ("extra alerts", "extra"),
    ("redelivered copies", "redelivered"),
    ("Kafka copies", "kafka_copies"),
    ("state equal", "state"),
    ("recovery s", "recovery"),
)


@dataclass
class ScenarioResult:
    scenario: str
    events_in: int  # submissions the feedback service accepted (202)
    accounted: int  # of those, events found in Kafka and applied by scoring
    # Acknowledged events that never reached scoring (missing from Kafka, or there and never applied) +
    # expected alerts never delivered.
    lost: int
    duplicated: int  # alerts delivered twice (two distinct events for one submission count as extra)
    alerts_expected: int
    alerts_delivered: int  # distinct deliveries received
    extra: int  # alerts nobody expected + event ids of the run's clinics that no 202 answered
    redelivered: int  # repeated copies of one delivery (same webhook-id), deduplicated
    kafka_copies: int = 0  # second records of an accepted event id (same id), dropped by every consumer
    state_differences: list[str] = field(default_factory=list)
    recovery_seconds: float | None = None  # from the fault's end until the platform caught up
    rejected: int = 0  # submissions the driver gave up on (must be 0)
    acknowledged: int = 0  # writes the intake acknowledged: 202 answers, and items a batch answer accepted
    unavailable: int = 0  # HTTP 503 answers (the intake could not store a write), retried until accepted
    achieved_rate: float = 0.0  # accepted submissions per second over the sending window
    sending_seconds: float = 0.0
    longest_stall: float = 0.0  # the longest time in the sending window without an accepted item
    unavailable_seconds: float = 0.0  # of those, the seconds Kafka could not store a write (an outage)
    unrecovered: int = 0  # faults after which the platform did not catch up in time
    # While Kafka could not store a write durably (fewer in-sync replicas than min.insync.replicas):
    accepted_while_unavailable: int = 0  # writes the intake acknowledged anyway (must be 0)
    refused_while_unavailable: int = 0  # 503 answers
    reordered: int = 0  # clients whose events are on Kafka in another order than they were acknowledged
    notes: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return "yes" if not self.state_differences else f"NO ({len(self.state_differences)})"

    @property
    def rate_while_available(self) -> float:
        """Accepted per second while the platform could store writes at all: the load a scenario is held to.
        While fewer brokers than ``min.insync.replicas`` run, refusing is the right answer, and the driver's
        clients wait (each client's events stay in order) instead of sending on."""
        available = self.sending_seconds - self.unavailable_seconds
        return self.acknowledged / available if available > 0 else 0.0

    @property
    def rate(self) -> str:
        """Accepted per second over the driver's sending window (of ``sending_seconds``)."""
        return f"{self.achieved_rate:.0f}" if self.sending_seconds else "-"

    @property
    def recovery(self) -> str:
        return "-" if self.recovery_seconds is None else f"{self.recovery_seconds:.1f}"

    @property
    def passed(self) -> bool:
        return (
            self.lost == self.duplicated == self.extra == self.rejected == self.unrecovered == 0
            and self.accepted_while_unavailable == self.reordered == 0
            and not self.state_differences
            and self.accounted == self.events_in
            and self.alerts_delivered == self.alerts_expected
        )

    def problems(self) -> str:
        lines = [f"{self.scenario}: lost {self.lost}, duplicated {self.duplicated}, extra {self.extra}"]
        lines += [f"  rejected submissions: {self.rejected}"] if self.rejected else []
        lines += [f"  clients out of order on Kafka: {self.reordered}"] if self.reordered else []
        if self.accepted_while_unavailable or self.refused_while_unavailable:
            lines.append(
                f"  while Kafka could not store writes: {self.accepted_while_unavailable} acknowledged, "
                f"{self.refused_while_unavailable} answered 503"
            )
        lines += [f"  state: {difference}" for difference in self.state_differences[:10]]
        lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)


def table(results: Iterable[ScenarioResult]) -> str:
    rows = [[title for title, _ in COLUMNS]]
    rows += [[str(getattr(result, attribute)) for _, attribute in COLUMNS] for result in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(rows[0]), line(["-" * w for w in widths]), *(line(row) for row in rows[1:])])
