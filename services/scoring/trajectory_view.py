"""What the clinic view and ``GET /v1/clinic/trajectories`` show of the expected trajectories in force: per
intake band, whose curve the clinic's clients are judged by, the expected change from intake and its lower
limit at a few sessions, and what the curve rests on; or why a band has none.

Pure: built from the latest models (``trajectory_models.LatestModels``), the same the rules read, and the
clinic's thresholds, so a lower limit shown is the one ``not_on_track`` judges by (the clinic's margin below
the fitted 25th percentile), to the two decimals the alerts show.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.scoring.domain import Thresholds
from services.scoring.domain.trajectories import MIN_CLIENTS, MIN_ORS, IntakeBand
from services.scoring.trajectory_models import FittedModel, LatestModels

SHOWN_AT = (3, 5, 8, 12, 20)  # sessions with an ORS (intake is t = 1) the view shows the curve at
NO_CURVE = f"fewer than {MIN_CLIENTS} clients with {MIN_ORS} ORS: only ors_deterioration applies"
BandName = Literal["<10", "10-14.9", "15-19.9", "20-24.9", "25+"]
Whose = Literal["clinic", "platform"]


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class CurvePoint(View):
    t: int = Field(description="The client's t-th session with an ORS (intake is t = 1).")
    expected: float = Field(description="Expected change of the ORS total from intake by then: b · ln(t).")
    lower_limit: float = Field(
        description="The lower limit: the curve plus lower_offset, less the clinic's margin; a client whose "
        "change from intake is below it is not on track."
    )


class ModelView(View):
    model_version: str = Field(description="What every not_on_track marker judged by this model names.")
    fitted_at: datetime
    clients: int = Field(description="Clients with at least one ORS that the fit looked at.")
    usable_bands: int = Field(
        description=f"Bands with a curve: at least {MIN_CLIENTS} clients with {MIN_ORS} ORS."
    )


class BandTrajectory(View):
    band: BandName = Field(description="The band of the client's first ORS total (intake).")
    curve_from: Whose | None = Field(
        description="Whose clients the curve rests on: this clinic's, or all clinics' (the platform-wide fit, "
        "when this clinic's band has too few); None when neither has enough."
    )
    model_version: str | None = Field(description="The version of the model the curve is from.")
    fitted_at: datetime | None
    b: float | None = Field(description="Expected change from intake is b · ln(t).")
    lower_offset: float | None = Field(description="The lower limit lies this far from the curve (negative).")
    clients: int | None = Field(description=f"Clients with at least {MIN_ORS} ORS behind the curve.")
    observations: int | None = Field(description="Changes from intake (client, session) the fit used.")
    clinic_clients: int = Field(
        description=f"This clinic's clients with at least {MIN_ORS} ORS in the band, at its latest fit."
    )
    points: list[CurvePoint] = Field(description=f"The curve at t = {', '.join(map(str, SHOWN_AT))}.")
    note: str | None = Field(description="Why the band has no curve, when it has none.")


class ClinicTrajectories(View):
    """The expected change by intake band that the clinic's clients are judged against (not_on_track)."""

    clinic_id: str
    clinic_model: ModelView | None = Field(description="The clinic's own latest model; None before any fit.")
    platform_model: ModelView | None = Field(description="The platform-wide latest model (all clinics).")
    min_clients: int = Field(MIN_CLIENTS, description="Clients a band needs for a curve of its own ...")
    min_ors: int = Field(MIN_ORS, description="... each with at least this many ORS.")
    margin: float = Field(
        description="The lower limits lie this many ORS points below the fitted 25th percentile (the clinic's "
        "not_on_track_margin)."
    )
    checked_from: int = Field(
        description="not_on_track looks from the client's t-th session with an ORS (not_on_track_from)."
    )
    bands: list[BandTrajectory] = Field(description="Every intake band, lowest first.")


def clinic_trajectories(clinic_id: str, latest: LatestModels, thresholds: Thresholds) -> ClinicTrajectories:
    margin = float(thresholds.not_on_track_margin)
    return ClinicTrajectories(
        clinic_id=clinic_id,
        clinic_model=_model_view(latest.clinic),
        platform_model=_model_view(latest.platform),
        margin=margin,
        checked_from=thresholds.not_on_track_from,
        bands=[_band(band, latest, margin) for band in IntakeBand],
    )


def _model_view(model: FittedModel | None) -> ModelView | None:
    if model is None:
        return None
    return ModelView(
        model_version=model.version,
        fitted_at=model.fitted_at,
        clients=model.clients,
        usable_bands=len(model.trajectory_model.bands),
    )


def _band(band: IntakeBand, latest: LatestModels, margin: float) -> BandTrajectory:
    clinic_clients = latest.clinic.band_clients.get(band, 0) if latest.clinic else 0
    # The order the rules choose in (ExpectedTrajectories.curve_for): the clinic's own curve, else the platform's.
    for whose, model in (("clinic", latest.clinic), ("platform", latest.platform)):
        curve = model.curve(band) if model is not None else None
        if model is not None and curve is not None:
            return BandTrajectory(
                band=band.value,
                curve_from=whose,
                model_version=model.version,
                fitted_at=model.fitted_at,
                b=round(curve.b, 3),
                lower_offset=round(curve.lower_offset, 3),
                clients=curve.clients,
                observations=curve.observations,
                clinic_clients=clinic_clients,
                points=[
                    CurvePoint(
                        t=t, expected=curve.shown_expected(t), lower_limit=curve.judged_limit(t, margin)
                    )
                    for t in SHOWN_AT
                ],
                note=None,
            )
    return BandTrajectory(
        band=band.value,
        curve_from=None,
        model_version=None,
        fitted_at=None,
        b=None,
        lower_offset=None,
        clients=None,
        observations=None,
        clinic_clients=clinic_clients,
        points=[],
        note=NO_CURVE,
    )
