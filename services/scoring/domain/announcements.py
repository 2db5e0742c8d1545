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

A change of the rules (``RULES_VERSION``) re-assesses every history the next time its client changes, and
the new rules may imply episodes the old ones announced differently: ``adopted`` takes what the new rules
imply about the past as announced, so that no one is alerted again about sessions already dealt with.

History is not news: an alert about a session older than the clinic's push horizon at the time it is
announced (an imported history, a late backfill) is published as usual but marked ``from_history``, so no one
is paged about the past. The log remembers the episodes whose first alert was such, for the views.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .episodes import EpisodeTimeline
from .events import DomainEvent, RuptureSuspected
from .severity import Severity


def is_history(session_at: datetime, announced_at: datetime, horizon_days: int) -> bool:
    """An alert is about history, not news, when its session is more than ``horizon_days`` days older than
    the moment it is announced (exactly the horizon is still news)."""
    return announced_at - session_at > timedelta(days=horizon_days)


def alerts_from_history(
    events: Iterable[DomainEvent], announced_at: datetime, horizon_days: int
) -> frozenset[str]:
    """Event ids of the alerts among ``events`` that are about history when announced at ``announced_at``."""
    return frozenset(
        event.event_id
        for event in events
        if isinstance(event, RuptureSuspected) and is_history(event.session_at, announced_at, horizon_days)
    )


@dataclass(frozen=True)
class EmittedLog:
    """What has been announced for one client: alert levels per episode, stale alerts, resolutions, and the
    episodes whose first alert was about history (``from_history``: shown as "from imported history")."""

    alerted: frozenset[tuple[str, Severity]] = frozenset()
    stale_alerted: frozenset[str] = frozenset()
    resolved: frozenset[str] = frozenset()
    from_history: frozenset[str] = frozenset()

    def highest_alert(self, episode_id: str) -> Severity:
        return max((level for eid, level in self.alerted if eid == episode_id), default=Severity.NONE)

    def record(self, events: Iterable[DomainEvent], from_history: Collection[str] = ()) -> EmittedLog:
        """The log once ``events`` are announced; ``from_history``: the event ids among them of alerts
        about history (see ``alerts_from_history``). Only an episode's first alert marks the episode."""
        events = tuple(events)
        if not events:  # the common case (most sessions owe nothing): no copy of the sets
            return self
        alerted, stale_alerted, resolved = set(self.alerted), set(self.stale_alerted), set(self.resolved)
        history = set(self.from_history)
        for event in events:
            if isinstance(event, RuptureSuspected):
                first = not any(eid == event.episode_id for eid, _ in alerted)
                if first and event.event_id in from_history:
                    history.add(event.episode_id)
                alerted.add((event.episode_id, event.severity))
                if event.stale:
                    stale_alerted.add(event.episode_id)
            else:
                resolved.add(event.episode_id)
        return EmittedLog(
            frozenset(alerted), frozenset(stale_alerted), frozenset(resolved), frozenset(history)
        )

    def with_alert(
        self, episode_id: str, severity: Severity, *, stale: bool = False, from_history: bool = False
    ) -> EmittedLog:
        """The log once one alert is announced, read back from its wire form (a replay reads the alerts of one
        client in the order they were announced: the first one read for an episode is its first alert)."""
        first = self.highest_alert(episode_id) is Severity.NONE
        return EmittedLog(
            self.alerted | {(episode_id, severity)},
            self.stale_alerted | ({episode_id} if stale else set()),
            self.resolved,
            self.from_history | ({episode_id} if first and from_history else set()),
        )

    def with_resolution(self, episode_id: str) -> EmittedLog:
        """The log once the episode's resolution is announced."""
        return EmittedLog(self.alerted, self.stale_alerted, self.resolved | {episode_id}, self.from_history)


@dataclass(frozen=True)
class Announcement:
    """What a client owes at one moment: ``events`` to publish (timeline order), ``from_history`` the event
    ids of the alerts among them that are about history then, and ``log`` once they are announced."""

    events: tuple[DomainEvent, ...]
    from_history: frozenset[str]
    log: EmittedLog


def announce(
    timeline: EpisodeTimeline, emitted: EmittedLog, announced_at: datetime, horizon_days: int
) -> Announcement:
    """Everything owed, announced at ``announced_at`` (when the causing event reached the platform), judged
    against the clinic's push horizon: the one step the service, its replay harness and the calibration share."""
    events = owed_events(timeline, emitted)
    history = alerts_from_history(events, announced_at, horizon_days)
    return Announcement(events, history, emitted.record(events, from_history=history))


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


def adopted(timeline: EpisodeTimeline, emitted: EmittedLog) -> EmittedLog:
    """The log of a history announced under earlier rules, once the current rules' ``timeline`` of it is
    taken over: every alert the timeline owes counts as announced without being sent (an alert about the past
    because the rules changed is noise, and may repeat one the clinician already had under another episode
    id), and so do the resolutions of episodes that were never announced. A resolution of an episode that was
    announced stays owed: those who were alerted hear that it closed."""
    alerted_before = {episode_id for episode_id, _ in emitted.alerted}
    silent = [
        event
        for event in owed_events(timeline, emitted)
        if isinstance(event, RuptureSuspected) or event.episode_id not in alerted_before
    ]
    return emitted.record(silent)
