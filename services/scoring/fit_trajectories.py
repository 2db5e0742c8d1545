"""Fit the expected trajectories now, from an operator's shell: ``alliance fit-trajectories [CLINIC]`` (or, in
the scoring image, ``python -m services.scoring.fit_trajectories [CLINIC]``).

The same fit as the scheduled job, on scoring's database (``ScoringSettings``: ``MONGODB_URI``,
``MONGODB_DATABASE``), without the lease: an operator who asks for a fit gets one. Each model's
``trajectories.fitted`` is staged in scoring's outbox; the running scoring service publishes it.
"""

import argparse
import asyncio
from collections.abc import Sequence

from services.scoring.app import CLIENTS, OUTBOX
from services.scoring.domain.trajectories import MIN_CLIENTS, MIN_ORS, IntakeBand
from services.scoring.fitting import TrajectoryFitter
from services.scoring.settings import ScoringSettings
from services.scoring.trajectory_models import MODELS, FittedModel, TrajectoryModels
from shared import mongo
from shared.messaging import Outbox


async def fit_trajectories(settings: ScoringSettings, clinic_id: str | None = None) -> list[FittedModel]:
    """Fit every clinic and the platform, or ``clinic_id`` and the platform; the models stored."""
    client = mongo.connect(settings)
    try:
        db = mongo.database(client, settings)
        models = TrajectoryModels(db[MODELS])
        await models.ensure_indexes()
        return await TrajectoryFitter(client, db[CLIENTS], models, Outbox(db[OUTBOX])).fit(clinic_id)
    finally:
        await client.close()


def report(model: FittedModel) -> list[str]:
    """What an operator reads about one model: its version, and per band the curve or why there is none."""
    whose = "all clinics" if model.clinic_id is None else f"clinic {model.clinic_id}"
    lines = [f"{model.version}  ({whose}, {model.clients} clients with an ORS)"]
    for band in IntakeBand:
        curve = model.curve(band)
        if curve is None:
            behind = model.band_clients.get(band, 0)
            lines.append(
                f"  {band.value:<8} too few clients: {behind} with {MIN_ORS}+ ORS, {MIN_CLIENTS} needed"
            )
        else:
            lines.append(
                f"  {band.value:<8} b = {curve.b:.2f}  lower limit offset {curve.lower_offset:+.2f}  "
                f"{curve.clients} clients, {curve.observations} changes"
            )
    return lines


def run(clinic_id: str | None = None, settings: ScoringSettings | None = None) -> list[FittedModel]:
    """Fit, print each model's report, and return the models."""
    fitted = asyncio.run(fit_trajectories(settings or ScoringSettings(), clinic_id))
    for model in fitted:
        print("\n".join(report(model)))
    print(f"{len(fitted)} model(s) stored; the scoring service publishes them on trajectories.fitted")
    return fitted


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m services.scoring.fit_trajectories", description=__doc__.split("\n")[0]
    )
    parser.add_argument("clinic_id", nargs="?", help="fit this clinic (and the platform) only")
    run(parser.parse_args(argv).clinic_id)


if __name__ == "__main__":
    main()
