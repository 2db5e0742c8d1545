"""Per-clinic thresholds (collection ``scoring_clinic_settings``, one document a clinic: its overrides).

Only the overrides are stored; the effective thresholds are the domain's defaults with them applied, so a
changed default reaches every clinic that did not override it. New settings apply from each client's next
event (nothing is re-assessed in bulk when they change).

The thresholds the rules read also carry the clinic's fitted expected trajectories (``trajectory_models.py``):
not a setting, but like one a refit changes what the rules conclude, so they are read together, in the same
transaction.
"""

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from services.scoring import domain
from services.scoring.trajectory_models import MODELS, TrajectoryModels

Document = dict[str, Any]
Number = float


class ThresholdValues(BaseModel):
    """A clinic's thresholds (DOMAIN.md's marker table). In a request every field is optional: the ones given
    are the clinic's overrides, the others keep their defaults."""

    model_config = ConfigDict(extra="forbid")

    srs_cutoff: Number | None = Field(None, description="below_cutoff: T(n) < this; also the repair floor.")
    item_low: Number | None = Field(None, description="item_low: any client SRS item < this.")
    drop_from_last: Number | None = Field(None, description="drop_from_last: T(n) ≤ T(n−1) − this.")
    baseline_window: int | None = Field(
        None, description="The last ≤ this many earlier totals form the baseline."
    )
    baseline_min_earlier: int | None = Field(
        None, description="drop_from_baseline needs this many earlier totals."
    )
    baseline_min_drop: Number | None = Field(None, description="T(n) < mean − max(this, factor × sd).")
    baseline_sd_factor: Number | None = Field(None, description="The factor of the sd in drop_from_baseline.")
    steep_drop: Number | None = Field(None, description="steep_drop: T(n) ≤ T(n−1) − this ...")
    steep_floor: Number | None = Field(None, description="... or T(n) < this.")
    ors_deterioration: Number | None = Field(None, description="ORS total ≤ the first ORS total − this.")
    attendance_window: int | None = Field(
        None, description="Absence within this many sessions after a marker."
    )
    absence_run: int | None = Field(None, description="... or this many absences in a row.")
    missing_feedback_run: int | None = Field(
        None, description="Attended sessions in a row without client SRS."
    )
    blindspot_gap: Number | None = Field(None, description="Therapist SRS total − client SRS total ≥ this.")
    alert_threshold: Literal["low", "medium", "high"] | None = Field(
        None, description="An episode alerts when its severity first reaches this."
    )
    stale_after_sessions: int | None = Field(
        None,
        description="An episode open this many more sessions, the latest still medium or high, turns stale.",
    )
    settle_after_calm: int | None = Field(
        None,
        description="An open episode whose latest this many sessions with a client SRS are calm (no medium or "
        "high marker) closes as settled.",
    )
    baseline_established_after: int | None = Field(
        None, description="SRS totals outside episodes needed before the client's usual counts."
    )
    repair_margin: Number | None = Field(
        None, description="Repair: T ≥ mean(totals before the episode) − this."
    )
    push_horizon_days: int | None = Field(
        None,
        description=(
            "Days (0–3650). An alert about a session older than this when it is first announced (an imported "
            "history, a late backfill) is recorded and shown, but sends no e-mail or webhook."
        ),
    )
    report_high_intensity: Number | None = Field(
        None, description="reported_rupture is high when the client's intensity ≥ this (1–5) ..."
    )
    report_high_resolution: Number | None = Field(None, description="... and their resolution ≤ this (1–5).")
    report_medium_resolution: Number | None = Field(
        None, description="reported_rupture is medium when the client's resolution ≤ this, low above it."
    )
    partly_notes_in_a_row: int | None = Field(
        None,
        description="next_steps_mismatch is low when the client answered 'partly' to this many shared notes in a "
        "row ('no' to one is medium).",
    )
    unrecognised_resolution_gap: Number | None = Field(
        None,
        description="unrecognised_rupture: the therapist's resolution exceeds the client's by ≥ this (or the "
        "therapist reported no tension).",
    )
    goal_reliable_change: Number | None = Field(
        None,
        description="goal_disagreement: client and therapist rate a goal ≥ this apart (0–10); goal_setback: the "
        "client rates a goal ≤ their best earlier rating of it − this.",
    )
    not_on_track_from: int | None = Field(
        None,
        description="not_on_track looks from the client's t-th session with an ORS (2–20; intake is t = 1).",
    )
    not_on_track_run: int | None = Field(
        None, description="not_on_track needs this many ORS in a row below the lower limit (DOMAIN.md: 1)."
    )
    not_on_track_margin: Number | None = Field(
        None,
        description="not_on_track's lower limit lies this many ORS points below the fitted 25th percentile "
        "(DOMAIN.md: 0).",
    )


class ClinicSettings(BaseModel):
    clinic_id: str
    effective: ThresholdValues = Field(description="Every threshold in force, defaults included.")
    overrides: list[str] = Field(description="Names of the thresholds this clinic set itself.")
    retention_months: int | None = Field(
        default=None,
        description="Clients with no session for this many months are erased by the daily retention job; "
        "none: kept until erased on request (PUT /v1/clinic/retention).",
    )


class ClinicSettingsStore:
    def __init__(self, collection: AsyncCollection[Document], models: TrajectoryModels | None = None) -> None:
        self.collection = collection
        # The fitted models live in the same database (a replay's rebuilt one included).
        self.models = models or TrajectoryModels(collection.database[MODELS])

    async def overrides(self, clinic_id: str, session: AsyncClientSession | None = None) -> dict[str, object]:
        document = await self.collection.find_one({"_id": clinic_id}, session=session)
        return dict(document["overrides"]) if document else {}

    async def thresholds(
        self, clinic_id: str, session: AsyncClientSession | None = None
    ) -> domain.Thresholds:
        """The clinic's thresholds, with the trajectories in force (one query each)."""
        return (await self.thresholds_of([clinic_id], session))[clinic_id]

    async def thresholds_of(
        self, clinic_ids: Iterable[str], session: AsyncClientSession | None = None
    ) -> dict[str, domain.Thresholds]:
        """The thresholds of each of ``clinic_ids``, with the trajectories in force: one query for the
        overrides, one for the latest models (each clinic's own and the platform-wide one)."""
        overrides: dict[str, dict[str, object]] = {clinic_id: {} for clinic_id in clinic_ids}
        async for document in self.collection.find({"_id": {"$in": list(overrides)}}, session=session):
            overrides[document["_id"]] = dict(document["overrides"])
        latest = await self.models.latest_of(overrides, session)
        return {
            clinic_id: dataclasses.replace(
                domain.Thresholds.from_mapping(values), trajectories=latest[clinic_id].expected
            )
            for clinic_id, values in overrides.items()
        }

    async def replace(
        self, clinic_id: str, overrides: Mapping[str, object], changed_by: str
    ) -> domain.Thresholds:
        """Validate with the domain (``InvalidThresholds`` names each bad field), then store."""
        thresholds = domain.Thresholds.from_mapping(overrides)
        stored = {name: _storable(getattr(thresholds, name)) for name in overrides}
        await self.collection.update_one(
            {"_id": clinic_id},
            {"$set": {"overrides": stored, "changed_by": changed_by, "changed_at": datetime.now(UTC)}},
            upsert=True,
        )
        return thresholds

    async def set_retention(self, clinic_id: str, months: int | None, changed_by: str) -> None:
        await self.collection.update_one(
            {"_id": clinic_id},
            {
                "$set": {"retention_months": months, "retention_changed_by": changed_by},
                "$setOnInsert": {"overrides": {}},
            },
            upsert=True,
        )

    async def retention_policies(self) -> dict[str, int]:
        """Months without a session after which each clinic's clients are erased (clinics that set one)."""
        found = self.collection.find({"retention_months": {"$ne": None, "$exists": True}})
        return {document["_id"]: document["retention_months"] async for document in found}

    async def view(self, clinic_id: str) -> ClinicSettings:
        document = await self.collection.find_one({"_id": clinic_id}) or {}
        overrides = dict(document.get("overrides", {}))
        thresholds = domain.Thresholds.from_mapping(overrides)
        effective = {name: _shown(getattr(thresholds, name)) for name in domain.SETTING_NAMES}
        return ClinicSettings(
            clinic_id=clinic_id,
            effective=ThresholdValues.model_validate(effective),
            overrides=sorted(overrides),
            retention_months=document.get("retention_months"),
        )


def _storable(value: object) -> object:
    # Decimals as text keep their exact value; the domain reads text back as Decimal.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, domain.Severity):
        return value.value
    return value


def _shown(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, domain.Severity):
        return value.value
    return value
