"""The fitted expected trajectories (collection ``scoring_trajectory_models``, one document per fit).

Every fit is kept, with its version, whose clients it rests on, how many, and when it was made, so each
``not_on_track`` marker that names a version can be explained later. One document per scope (each clinic, and
the platform as a whole) is flagged ``latest``; a partial unique index on that flag finds the models in force
for a batch's clinics in one query, and keeps a scope from ever having two.

A band's curve is stored only when the band was usable at the fit; a stored curve whose band rests on fewer
clients than the domain now asks for (``MIN_CLIENTS``) is read as no curve, so raising the bar takes effect
without a refit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from services.scoring.domain.trajectories import (
    MIN_CLIENTS,
    MIN_ORS,
    BandFit,
    ExpectedTrajectories,
    IntakeBand,
    TrajectoryModel,
    fit,
)
from services.scoring.translate import SOURCE, Outbound
from shared.contracts import TRAJECTORIES_FITTED, BandCurveV1, TrajectoriesFittedV1, derived_event_id

MODELS = "scoring_trajectory_models"
PLATFORM = "platform"  # the subject (and key) of the platform-wide model's events, and its version's prefix
BAND_ORDER = tuple(IntakeBand)
Document = dict[str, Any]
Scope = Literal["clinic", "platform"]


@dataclass(frozen=True)
class FittedModel:
    """One fit as stored: the usable bands' curves and what the fit rested on."""

    version: str
    scope: Scope
    clinic_id: str | None  # None for the platform-wide model
    fitted_at: datetime
    clients: int  # clients with at least one ORS that the fit looked at
    bands: tuple[BandFit, ...]  # the usable bands, in band order
    # Per band, clients with at least MIN_ORS ORS, usable or not: how far a band is from a curve of its own.
    band_clients: Mapping[IntakeBand, int] = field(default_factory=dict)

    @property
    def trajectory_model(self) -> TrajectoryModel:
        """The model the rules judge by: only the bands that are usable today."""
        usable = tuple(found for found in self.bands if found.clients >= MIN_CLIENTS)
        return TrajectoryModel(self.version, self.scope, usable)

    def curve(self, band: IntakeBand) -> BandFit | None:
        return self.trajectory_model.band(band)


def version_of(clinic_id: str | None, fitted_at: datetime) -> str:
    """``clinic-17@2026-11-28T03:00:00.000Z`` (``platform@...`` platform-wide): whose clients and when, to
    the millisecond MongoDB keeps, so two fits of one scope never share a version."""
    moment = fitted_at.astimezone(UTC)
    return f"{clinic_id or PLATFORM}@{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def fit_time(now: datetime) -> datetime:
    """``now`` to the millisecond, in UTC: what MongoDB stores, so a model read back is the model stored."""
    moment = now.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def fitted_model(
    clinic_id: str | None, fitted_at: datetime, clients: Sequence[Sequence[float]]
) -> FittedModel:
    """Fit ``clients`` (each one's ORS totals in session order, at least one) as the clinic's model, or the
    platform's when ``clinic_id`` is None."""
    at = fit_time(fitted_at)
    curves = fit(clients)
    counted = Counter(IntakeBand.of(totals[0]) for totals in clients if len(totals) >= MIN_ORS)
    return FittedModel(
        version=version_of(clinic_id, at),
        scope="platform" if clinic_id is None else "clinic",
        clinic_id=clinic_id,
        fitted_at=at,
        clients=len(clients),
        bands=tuple(curves[band] for band in BAND_ORDER if band in curves),
        band_clients={band: counted[band] for band in BAND_ORDER if counted[band]},
    )


def document_of(model: FittedModel) -> Document:
    return {
        "_id": model.version,
        "scope": model.scope,
        "clinic_id": model.clinic_id,
        "fitted_at": model.fitted_at,
        "clients": model.clients,
        "bands": [
            {
                "band": found.band.value,
                "b": found.b,
                "lower_offset": found.lower_offset,
                "clients": found.clients,
                "observations": found.observations,
            }
            for found in model.bands
        ],
        "band_clients": {band.value: count for band, count in model.band_clients.items()},
    }


def model_from(document: Document) -> FittedModel:
    bands = (
        BandFit(IntakeBand(d["band"]), d["b"], d["lower_offset"], d["clients"], d["observations"])
        for d in document["bands"]
    )
    return FittedModel(
        version=document["_id"],
        scope=document["scope"],
        clinic_id=document["clinic_id"],
        fitted_at=document["fitted_at"].astimezone(UTC),
        clients=document["clients"],
        bands=tuple(sorted(bands, key=lambda found: BAND_ORDER.index(found.band))),
        band_clients={IntakeBand(band): count for band, count in document.get("band_clients", {}).items()},
    )


def fitted_event(model: FittedModel) -> Outbound:
    """``trajectories.fitted`` for ``model``, keyed by its clinic (or ``platform``) on the compacted topic, so
    the topic keeps each scope's latest model; its id follows from the version, so a retry is no second
    event."""
    data = TrajectoriesFittedV1(
        scope=model.scope,
        model_version=model.version,
        fitted_at=model.fitted_at,
        clients=model.clients,
        bands=[
            BandCurveV1(
                band=found.band.value,
                b=found.b,
                lower_offset=found.lower_offset,
                clients=found.clients,
                observations=found.observations,
            )
            for found in model.bands
        ],
    )
    owner = model.clinic_id or PLATFORM
    event = TRAJECTORIES_FITTED.envelope(
        data,
        clinic_id=owner,
        source=SOURCE,
        subject=owner,
        event_id=derived_event_id(model.version, TRAJECTORIES_FITTED.name),
        time=model.fitted_at,
    )
    return TRAJECTORIES_FITTED, event


@dataclass(frozen=True)
class LatestModels:
    """The models in force for one clinic: its own latest, and the platform-wide latest."""

    clinic: FittedModel | None
    platform: FittedModel | None

    @property
    def expected(self) -> ExpectedTrajectories | None:
        """What the rules judge the clinic's clients by; None before any fit, like the default thresholds."""
        if self.clinic is None and self.platform is None:
            return None
        return ExpectedTrajectories(
            clinic=self.clinic.trajectory_model if self.clinic else None,
            platform=self.platform.trajectory_model if self.platform else None,
        )


class TrajectoryModels:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index(
            [("scope", ASCENDING), ("clinic_id", ASCENDING)],
            unique=True,
            partialFilterExpression={"latest": True},
            name="latest_per_scope",
        )
        # A clinic's (or the platform's) fits by date, for whoever looks back at what an old alert rests on.
        await self.collection.create_index(
            [("scope", ASCENDING), ("clinic_id", ASCENDING), ("fitted_at", ASCENDING)], name="fits_by_date"
        )

    async def store(self, model: FittedModel, session: AsyncClientSession) -> None:
        """Keep ``model``; it becomes its scope's latest unless a later fit already is (two fits that raced).
        In the caller's transaction, which may run again: it reads before it writes."""
        scope = {"scope": model.scope, "clinic_id": model.clinic_id, "latest": True}
        current = await self.collection.find_one(scope, {"fitted_at": 1}, session=session)
        newer = current is None or current["fitted_at"] <= model.fitted_at
        if current is not None and newer:
            await self.collection.update_one(
                {"_id": current["_id"]}, {"$unset": {"latest": ""}}, session=session
            )
        document = document_of(model) | ({"latest": True} if newer else {})
        await self.collection.insert_one(document, session=session)

    async def latest_of(
        self, clinic_ids: Iterable[str], session: AsyncClientSession | None = None
    ) -> dict[str, LatestModels]:
        """The models in force for each of ``clinic_ids``, in one query (it runs in every batch's
        transaction)."""
        wanted = list(dict.fromkeys(clinic_ids))
        query = {
            "latest": True,
            "$or": [{"scope": "platform"}, {"scope": "clinic", "clinic_id": {"$in": wanted}}],
        }
        clinics: dict[str, FittedModel] = {}
        platform = None
        async for document in self.collection.find(query, session=session):
            model = model_from(document)
            if model.clinic_id is None:
                platform = model
            else:
                clinics[model.clinic_id] = model
        return {clinic_id: LatestModels(clinics.get(clinic_id), platform) for clinic_id in wanted}

    async def latest_platform_fit(self) -> datetime | None:
        """When the platform-wide model in force was fitted (every scheduled fit makes one)."""
        document = await self.collection.find_one(
            {"scope": "platform", "clinic_id": None, "latest": True}, {"fitted_at": 1}
        )
        return None if document is None else document["fitted_at"].astimezone(UTC)
