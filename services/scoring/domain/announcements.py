"""Which domain events are still owed: a pure diff between the recomputed timeline and what was announced.

The caller keeps an ``EmittedLog`` next to the client's state (same transaction as its outbox) and publishes
exactly ``owed_events(timeline, log)``, then stores ``log.record(those events)``.

Late events: the timeline is recomputed from scratch, so it may now differ from what was announced. An
announcement is never retracted and never repeated:
- alerts only go up: an alert is owed when its level is above every level already announced for that episode
  (so never two for one episode and level, and never a lower one after a higher one); the stale alert is owed
  once per episode;
- nothing more is announced about an episode whose resolution was announced;
- a resolution is owed only for an episode that was alerted (now or before): an episode that stayed below the
  clinic's alert threshold lives in the read model only;
- if a late event changes an episode's opening session, its id changes too and it is a new episode.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .episodes import EpisodeTimeline
from .events import DomainEvent, RuptureSuspected
from .severity import Severity


@dataclass(frozen=True)
class EmittedLog:
    """What has been announced for one client: alert levels per episode, stale alerts, resolutions."""

    alerted: frozenset[tuple[str, Severity]] = frozenset()
    stale_alerted: frozenset[str] = frozenset()
    resolved: frozenset[str] = frozenset()

    def highest_alert(self, episode_id: str) -> Severity:
        return max((level for eid, level in self.alerted if eid == episode_id), default=Severity.NONE)

    def record(self, events: Iterable[DomainEvent]) -> EmittedLog:
        events = tuple(events)
        if not events:  # the common case (most sessions owe nothing): no copy of the three sets
            return self
        alerted, stale_alerted, resolved = set(self.alerted), set(self.stale_alerted), set(self.resolved)
        for event in events:
            if isinstance(event, RuptureSuspected):
                alerted.add((event.episode_id, event.severity))
                if event.stale:
                    stale_alerted.add(event.episode_id)
            else:
                resolved.add(event.episode_id)
        return EmittedLog(frozenset(alerted), frozenset(stale_alerted), frozenset(resolved))


def owed_events(timeline: EpisodeTimeline, emitted: EmittedLog) -> tuple[DomainEvent, ...]:
    """The timeline's events not yet announced, in timeline order."""
    log = emitted
    owed: list[DomainEvent] = []
    for event in timeline.events:
        if _is_owed(event, log):
            owed.append(event)
            log = log.record([event])
    return tuple(owed)


def _is_owed(event: DomainEvent, log: EmittedLog) -> bool:
    if event.episode_id in log.resolved:
        return False
    if isinstance(event, RuptureSuspected):
        if event.stale:
            return event.episode_id not in log.stale_alerted
        return event.severity > log.highest_alert(event.episode_id)
    return log.highest_alert(event.episode_id) > Severity.NONE
