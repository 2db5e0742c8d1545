"""Fitting the expected trajectories (DOMAIN.md version 2, "Not on track"): read every client's ORS totals,
fit each clinic and the platform as a whole, store each model and announce it.

Each model is stored with its ``trajectories.fitted`` event staged in scoring's outbox in one transaction, so
an announced model is always a stored one; the relay publishes it. The rules pick the new models up with the
next batch's thresholds, and take the refit over like a change of rules: no one is alerted about the past.

The job runs in every scoring replica: on start-up it fits when the platform's latest fit is older than the
interval (``SCORING_TRAJECTORY_FIT_HOURS``, 24), and it looks again every few minutes. Only the replica that
holds the lease (one MongoDB document with an expiry) fits, and it looks at the latest fit again once it
holds it, so one fit is made per interval however many replicas there are.
"""

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.scoring import metrics
from services.scoring.domain.trajectories import MAX_T
from services.scoring.trajectory_models import (
    FittedModel,
    TrajectoryModels,
    fit_time,
    fitted_event,
    fitted_model,
)
from shared import mongo
from shared.messaging import Outbox
from shared.messaging.loop import WakeableLoop

log = logging.getLogger("alliance.scoring.fitting")

LEASES = "scoring_leases"
FIT_LEASE = "trajectory-fit"
# Longer than any fit should take: a replica that dies while fitting holds the job up this long at most.
HOLD_LEASE_FOR = timedelta(minutes=30)
CHECK_EVERY = timedelta(minutes=5)
Document = dict[str, Any]

_CLIENT_ORS = {"$and": [{"$eq": ["$$rating.instrument", "ors"]}, {"$eq": ["$$rating.respondent", "client"]}]}
# Each client's client-ORS totals in session order (the read model's sessions are in the domain's order, with
# the winning rating per instrument and respondent), the first MAX_T only: the fit reads no further. Sorted by
# clinic along the (clinic_id, client_id) index, so each clinic's clients come together and stream.
ORS_PIPELINE: list[Document] = [
    {"$sort": {"clinic_id": ASCENDING}},
    {
        "$project": {
            "_id": 0,
            "clinic_id": 1,
            "ors": {
                "$slice": [
                    {
                        "$reduce": {
                            "input": {"$ifNull": ["$alliance.sessions", []]},
                            "initialValue": [],
                            "in": {
                                "$concatArrays": [
                                    "$$value",
                                    {
                                        "$map": {
                                            "input": {
                                                "$filter": {
                                                    "input": "$$this.ratings",
                                                    "as": "rating",
                                                    "cond": _CLIENT_ORS,
                                                }
                                            },
                                            "as": "rating",
                                            "in": "$$rating.total",
                                        }
                                    },
                                ]
                            },
                        }
                    },
                    MAX_T,
                ]
            },
        }
    },
    {"$match": {"ors.0": {"$exists": True}}},  # a client without an ORS says nothing about change
]


class TrajectoryFitter:
    """Fits and keeps the models: each one stored with its event staged, in one transaction."""

    def __init__(
        self,
        client: AsyncMongoClient[Document],
        clients: AsyncCollection[Document],
        models: TrajectoryModels,
        outbox: Outbox,
        staged: Callable[[], None] = lambda: None,  # wakes the relay, in the service
    ) -> None:
        self._client = client
        self._clients = clients
        self._models = models
        self._outbox = outbox
        self._staged = staged

    async def fit(
        self,
        clinic_id: str | None = None,
        now: datetime | None = None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> list[FittedModel]:
        """Fit every clinic that has a client with an ORS, then the platform (all clinics); with
        ``clinic_id``, that clinic only (even without any ORS: its model then says so) and the platform,
        which the clinic falls back on. Returns the models stored, the platform's last. ``stopping``: the
        service is shutting down; the models stored so far stay, the rest is fitted at the next start."""
        at = fit_time(now or datetime.now(UTC))
        everyone: list[list[float]] = []
        stored: list[FittedModel] = []
        async for found, clients in self.ors_by_clinic():
            everyone += clients
            if clinic_id is None or found == clinic_id:
                stored.append(await self._keep(fitted_model(found, at, clients)))
            if stopping():
                return stored
        if clinic_id is not None and not stored:
            stored.append(await self._keep(fitted_model(clinic_id, at, [])))
        stored.append(await self._keep(fitted_model(None, at, everyone)))
        return stored

    async def ors_by_clinic(self) -> AsyncIterator[tuple[str, list[list[float]]]]:
        """Each clinic's clients with an ORS, as their client-ORS totals in session order (the first
        ``MAX_T``), one clinic at a time in clinic id order."""
        cursor = await self._clients.aggregate(ORS_PIPELINE, batchSize=1000)
        clinic: str | None = None
        clients: list[list[float]] = []
        async for row in cursor:
            if row["clinic_id"] != clinic:
                if clinic is not None:
                    yield clinic, clients
                clinic, clients = row["clinic_id"], []
            clients.append([float(total) for total in row["ors"]])
        if clinic is not None:
            yield clinic, clients

    async def _keep(self, model: FittedModel) -> FittedModel:
        async def work(session: AsyncClientSession) -> None:
            await self._models.store(model, session)
            await self._outbox.stage(session, [fitted_event(model)])

        await mongo.in_transaction(self._client, work)
        self._staged()
        metrics.count_fit(model.scope, model.fitted_at)
        # Counts only: which clinic and how many clients, never whose numbers.
        log.info(
            "trajectories fitted",
            extra={
                "scope": model.scope,
                "clinic_id": model.clinic_id,
                "model_version": model.version,
                "clients": model.clients,
                "usable_bands": len(model.bands),
                "band_clients": {band.value: count for band, count in model.band_clients.items()},
            },
        )
        return model


class FitLease:
    """The right to fit, held by one replica until it lets go or its time runs out (it died meanwhile)."""

    def __init__(self, collection: AsyncCollection[Document], name: str = FIT_LEASE) -> None:
        self.collection = collection
        self.name = name

    async def acquire(self, holder: str, now: datetime, hold_for: timedelta = HOLD_LEASE_FOR) -> bool:
        """Whether ``holder`` holds the lease now (taken, or already its own)."""
        try:
            found = await self.collection.find_one_and_update(
                {"_id": self.name, "$or": [{"until": {"$lte": now}}, {"holder": holder}]},
                {"$set": {"holder": holder, "until": now + hold_for}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # the document exists and another holder's time has not run out
            return False
        return found is not None and found["holder"] == holder

    async def release(self, holder: str) -> None:
        await self.collection.delete_one({"_id": self.name, "holder": holder})


def is_due(latest: datetime | None, now: datetime, every: timedelta) -> bool:
    """A fit is due when there is none yet, or the latest is ``every`` old."""
    return latest is None or now - latest >= every


class TrajectoryFitting(WakeableLoop):
    """The scheduled fit: at start, then every ``check_every`` it fits if the latest fit is ``every`` old and
    this replica gets the lease."""

    def __init__(
        self,
        fitter: TrajectoryFitter,
        models: TrajectoryModels,
        lease: FitLease,
        holder: str,
        every: timedelta,
        check_every: timedelta = CHECK_EVERY,
    ) -> None:
        super().__init__("trajectory-fitting", min(check_every, every).total_seconds())
        self._fitter = fitter
        self._models = models
        self._lease = lease
        self._holder = holder
        self._every = every

    async def run(self) -> None:
        await self.run_steps(self.fit_if_due)

    async def fit_if_due(self, now: datetime | None = None) -> Sequence[FittedModel]:
        """The models this replica fitted now: none when no fit was due or another replica holds the job."""
        now = now or datetime.now(UTC)
        latest = await self._models.latest_platform_fit()
        metrics.show_platform_fit(latest)
        if not is_due(latest, now, self._every) or not await self._lease.acquire(self._holder, now):
            return []
        try:
            # Another replica may have fitted between the look above and the lease.
            if not is_due(await self._models.latest_platform_fit(), now, self._every):
                return []
            return await self._fitter.fit(now=now, stopping=self._stopping.is_set)
        finally:
            await self._lease.release(self._holder)
