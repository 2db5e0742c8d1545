"""The clinics' retention policies, applied once a day: a client with no session for ``retention_months``
is erased exactly as on request (``by: retention``), unless under legal hold.

One replica at a time runs it (a lease, like the trajectory fit). What it erased is reported per clinic, in
counts only: no client id reaches a metric or a log line.
"""

import logging
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from pymongo.asynchronous.collection import AsyncCollection

from services.scoring.clinic_settings import ClinicSettingsStore
from services.scoring.fitting import FitLease
from services.scoring.lifecycle.erasure import Erasures
from shared.messaging.loop import WakeableLoop
from shared.mongo import Document

log = logging.getLogger("alliance.scoring.retention")
RETENTION_ERASED = Counter(
    "alliance_retention_erased_clients_total",
    "Clients erased by their clinic's retention policy.",
    ["clinic_id"],
)
RETENTION_HELD = Counter(
    "alliance_retention_held_clients_total",
    "Clients past their clinic's retention kept because of a legal hold (counted at each daily run).",
    ["clinic_id"],
)
RUN_EVERY = timedelta(days=1)
LEASE = "retention"


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day when it is shorter)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month + 1, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month + 1, day=min(moment.day, 28))


class Retention:
    def __init__(
        self, settings: ClinicSettingsStore, erasures: Erasures, clients: AsyncCollection[Document]
    ) -> None:
        self._settings = settings
        self._erasures = erasures
        self._clients = clients

    async def apply(self, now: datetime | None = None) -> dict[str, int]:
        """Erase every client past their clinic's retention; returns how many per clinic."""
        now = now or datetime.now(UTC)
        erased: dict[str, int] = {}
        for clinic_id, months in (await self._settings.retention_policies()).items():
            cutoff = months_before(now, months)
            expired = self._clients.find(
                {"clinic_id": clinic_id, "last_session_at": {"$lt": cutoff}}, {"client_id": 1}
            )
            count = held = 0
            for document in await expired.to_list():
                if await self._erasures.on_hold(clinic_id, document["client_id"]):
                    held += 1
                    continue
                reason = f"retention: no session for {months} months"
                await self._erasures.erase(clinic_id, document["client_id"], "retention", reason)
                count += 1
            RETENTION_ERASED.labels(clinic_id).inc(count)
            RETENTION_HELD.labels(clinic_id).inc(held)
            if count or held:
                log.info(
                    "retention applied",
                    extra={"clinic_id": clinic_id, "months": months, "erased": count, "held": held},
                )
            erased[clinic_id] = count
        return erased


class RetentionSchedule(WakeableLoop):
    """Runs ``Retention.apply`` at start and then once a day, on the replica holding the lease."""

    def __init__(
        self, retention: Retention, lease: FitLease, holder: str, every: timedelta = RUN_EVERY
    ) -> None:
        super().__init__("retention", poll_seconds=every.total_seconds())
        self._retention = retention
        self._lease = lease
        self._holder = holder

    async def run(self) -> None:
        await self.run_steps(self.step)

    async def step(self) -> None:
        if await self._lease.acquire(self._holder, datetime.now(UTC)):
            try:
                await self._retention.apply()
            finally:
                await self._lease.release(self._holder)
