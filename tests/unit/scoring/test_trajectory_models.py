"""Fitted trajectory models as stored, announced, reported and shown: versions, the mapping between documents
and the domain's models, what counts as no curve, and the clinic's view of the bands."""

import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.scoring.domain import Thresholds
from services.scoring.domain.trajectories import (
    MIN_CLIENTS,
    BandFit,
    Chosen,
    IntakeBand,
    curve_for,
    off_track,
)
from services.scoring.fit_trajectories import report
from services.scoring.fitting import is_due
from services.scoring.trajectory_models import (
    LatestModels,
    document_of,
    fit_time,
    fitted_event,
    fitted_model,
    model_from,
    version_of,
)
from services.scoring.trajectory_view import NO_CURVE, SHOWN_AT, clinic_trajectories
from shared.contracts import TRAJECTORIES_FITTED

AT = datetime(2026, 11, 28, 3, 0, 0, 123456, tzinfo=UTC)


def improving(count: int, intake: float, b: float, sessions: int = 8) -> list[list[float]]:
    """``count`` clients whose gain spreads evenly around ``b`` (so the residuals have a lower quartile)."""
    gains = [b - 1 + 2 * i / max(count - 1, 1) for i in range(count)]
    return [[intake + g * math.log(t) for t in range(1, sessions + 1)] for g in gains]


def test_a_version_names_whose_clients_and_when_to_the_millisecond() -> None:
    assert version_of("clinic-17", AT) == "clinic-17@2026-11-28T03:00:00.123Z"
    assert version_of(None, AT) == "platform@2026-11-28T03:00:00.123Z"
    # The same moment seen from another time zone is the same version.
    elsewhere = AT.astimezone(timezone(timedelta(hours=5)))
    assert version_of("clinic-17", elsewhere) == version_of("clinic-17", AT)
    # Two fits a millisecond apart are two versions.
    assert version_of("c", AT + timedelta(milliseconds=1)) != version_of("c", AT)


def test_the_fit_time_is_what_mongodb_keeps() -> None:
    assert fit_time(AT) == datetime(2026, 11, 28, 3, 0, 0, 123000, tzinfo=UTC)


def test_a_fitted_model_keeps_the_usable_bands_and_counts_every_band() -> None:
    clients = improving(40, 17.0, 4.0) + improving(12, 22.0, 2.0) + [[30.0, 31.0]]  # the last: too few ORS
    model = fitted_model("clinic-a", AT, clients)
    assert model.version == "clinic-a@2026-11-28T03:00:00.123Z" and model.scope == "clinic"
    assert model.clients == 53  # every client with an ORS was looked at
    assert [found.band for found in model.bands] == [IntakeBand.FROM_15]
    assert model.band_clients == {IntakeBand.FROM_15: 40, IntakeBand.FROM_20: 12}
    assert model.bands[0].b == pytest.approx(4.0, abs=0.05)
    assert model.curve(IntakeBand.FROM_20) is None

    platform = fitted_model(None, AT, clients)
    assert (platform.scope, platform.clinic_id, platform.version) == (
        "platform",
        None,
        "platform@2026-11-28T03:00:00.123Z",
    )


def test_a_model_survives_its_document() -> None:
    model = fitted_model("clinic-a", AT, improving(40, 17.0, 4.0) + improving(35, 7.0, 6.0))
    document = document_of(model)
    assert document["_id"] == model.version
    assert [band["band"] for band in document["bands"]] == ["<10", "15-19.9"]
    assert document["band_clients"] == {"<10": 35, "15-19.9": 40}
    assert model_from(document) == model


def test_a_stored_band_below_todays_minimum_is_no_curve() -> None:
    model = fitted_model("clinic-a", AT, improving(40, 17.0, 4.0))
    document = document_of(model)
    document["bands"][0]["clients"] = MIN_CLIENTS - 1  # stored when the bar was lower
    read = model_from(document)
    assert read.curve(IntakeBand.FROM_15) is None
    assert read.trajectory_model.bands == ()


def test_a_clinic_model_without_a_usable_band_falls_back_to_the_platform_band_by_band() -> None:
    clinic = fitted_model("clinic-a", AT, improving(10, 17.0, 4.0) + improving(40, 22.0, 2.0))
    platform = fitted_model(None, AT, improving(50, 17.0, 3.0) + improving(40, 22.0, 1.0))
    expected = LatestModels(clinic, platform).expected
    assert expected is not None
    own = expected.curve_for(22.0)
    fallback = expected.curve_for(17.0)
    assert own is not None and (own.scope, own.version) == ("clinic", clinic.version)
    assert fallback is not None and (fallback.scope, fallback.version) == ("platform", platform.version)
    assert expected.curve_for(5.0) is None  # in neither: only ors_deterioration applies
    # The same choice as the pure fit's own check.
    pure = curve_for(17.0, {b.band: b for b in clinic.bands}, {b.band: b for b in platform.bands})
    assert pure is not None and pure.fit == fallback.fit
    # Both models name the rules, so a refit of either is taken over like a change of rules.
    assert expected.versions == f"{clinic.version}/{platform.version}"


def test_before_any_fit_the_rules_see_no_trajectories() -> None:
    assert LatestModels(None, None).expected is None
    only_platform = LatestModels(None, fitted_model(None, AT, [])).expected
    assert only_platform is not None and only_platform.curve_for(17.0) is None


def test_the_event_carries_the_model_keyed_by_its_clinic_or_platform() -> None:
    model = fitted_model("clinic-a", AT, improving(40, 17.0, 4.0))
    kind, event = fitted_event(model)
    assert kind is TRAJECTORIES_FITTED and event.subject == "clinic-a" and event.clinicid == "clinic-a"
    assert (event.data.scope, event.data.model_version, event.data.clients) == ("clinic", model.version, 40)
    [band] = event.data.bands
    assert (band.band, band.b, band.clients) == ("15-19.9", model.bands[0].b, 40)
    assert fitted_event(model)[1].id == event.id  # a retried transaction stages the same event
    _, platform = fitted_event(fitted_model(None, AT, []))
    assert (platform.subject, platform.clinicid, platform.data.bands) == ("platform", "platform", [])
    assert platform.id != event.id


def test_the_operator_report_names_every_band_and_why_one_has_no_curve() -> None:
    model = fitted_model("clinic-a", AT, improving(40, 17.0, 4.0) + improving(12, 22.0, 2.0))
    lines = report(model)
    assert lines[0] == "clinic-a@2026-11-28T03:00:00.123Z  (clinic clinic-a, 52 clients with an ORS)"
    curve = model.bands[0]
    assert (
        f"  15-19.9  b = {curve.b:.2f}  lower limit offset {curve.lower_offset:+.2f}  40 clients" in lines[3]
    )
    assert lines[4] == "  20-24.9  too few clients: 12 with 4+ ORS, 30 needed"
    assert lines[1] == "  <10      too few clients: 0 with 4+ ORS, 30 needed"
    assert len(lines) == 1 + len(IntakeBand)


def test_a_fit_is_due_without_one_or_once_the_latest_is_old() -> None:
    day = timedelta(hours=24)
    assert is_due(None, AT, day)
    assert not is_due(AT - timedelta(hours=23), AT, day)
    assert is_due(AT - day, AT, day)


def test_the_clinic_view_shows_each_bands_curve_whose_it_is_and_why_one_is_missing() -> None:
    clinic = fitted_model("clinic-a", AT, improving(40, 17.0, 4.0) + improving(8, 22.0, 2.0))
    platform = fitted_model(None, AT, improving(40, 17.0, 4.0) + improving(40, 22.0, 2.0))
    thresholds = Thresholds(not_on_track_margin=Decimal("2.5"), not_on_track_from=4)
    shown = clinic_trajectories("clinic-a", LatestModels(clinic, platform), thresholds)
    assert (shown.margin, shown.checked_from) == (2.5, 4)
    by_band = {band.band: band for band in shown.bands}
    assert list(by_band) == [band.value for band in IntakeBand]
    assert shown.clinic_model is not None and shown.clinic_model.usable_bands == 1
    assert shown.platform_model is not None and shown.platform_model.model_version == platform.version

    own = by_band["15-19.9"]
    curve = clinic.bands[0]
    assert (own.curve_from, own.model_version, own.clients, own.note) == ("clinic", clinic.version, 40, None)
    assert [p.t for p in own.points] == list(SHOWN_AT)
    assert own.points[0].expected == round(curve.b * math.log(3), 2)
    # The limit the rule judges by: the clinic's margin below the fitted 25th percentile.
    assert own.points[0].lower_limit == round(curve.lower_limit(3) - 2.5, 2)
    judged = off_track([17.0, 17.0, 17.0], Chosen(curve, "clinic"), margin=2.5)
    assert judged is not None and judged.lower_limit == own.points[0].lower_limit

    fallback = by_band["20-24.9"]
    assert (fallback.curve_from, fallback.model_version, fallback.clients) == (
        "platform",
        platform.version,
        40,
    )
    assert fallback.clinic_clients == 8  # this clinic's own, too few for a curve of its own

    none = by_band["<10"]
    assert (none.curve_from, none.points, none.note) == (None, [], NO_CURVE)
    assert NO_CURVE == "fewer than 30 clients with 4 ORS: only ors_deterioration applies"


def test_a_band_fit_stored_and_read_is_the_domains_band_fit() -> None:
    found = BandFit(IntakeBand.FROM_10, 5.0, -1.25, 31, 217)
    model = fitted_model("c", AT, [])
    document = document_of(model)
    document["bands"] = [
        {"band": "10-14.9", "b": 5.0, "lower_offset": -1.25, "clients": 31, "observations": 217}
    ]
    assert model_from(document).curve(IntakeBand.FROM_10) == found
