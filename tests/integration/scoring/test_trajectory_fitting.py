"""Fitting the expected trajectories on the real MongoDB and Kafka: what the fit reads of each client, each
model stored with its trajectories.fitted staged in the same transaction, the thresholds carrying the latest
models, one fit per interval however many replicas, the fit at start-up, the operator's command and the API."""

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from services.feedback import admin
from services.scoring import domain
from services.scoring.app import CLIENTS, OUTBOX
from services.scoring.clients import ClientRecord, ClientStore
from services.scoring.clinic_settings import ClinicSettingsStore
from services.scoring.domain.trajectories import IntakeBand
from services.scoring.fitting import LEASES, FitLease, TrajectoryFitter, TrajectoryFitting
from services.scoring.service import assess
from services.scoring.trajectory_models import MODELS, TrajectoryModels
from services.scoring.translate import fact_from
from shared import topics
from shared.auth import Scope
from shared.contracts import TRAJECTORIES_FITTED, CloudEvent, FeedbackSubmittedV2, Instrument, Respondent
from shared.messaging import Outbox
from tests.integration.scoring.conftest import Scoring, eventually
from tests.integration.scoring.ors_population import ORS_ITEMS, SyntheticClient, improving_clinic, items
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration
WEEKS_AGO = datetime.now(UTC).replace(microsecond=0) - timedelta(weeks=30)


async def seed(scoring: Scoring, clients: Sequence[SyntheticClient]) -> None:
    """Store the clients' records and read models as scoring would have after their ratings."""
    await save(scoring, [(c.clinic_id, c.client_id, c.events()) for c in clients])


async def save(
    scoring: Scoring, histories: Sequence[tuple[str, str, Sequence[CloudEvent[FeedbackSubmittedV2]]]]
) -> None:
    changes = []
    for clinic_id, client_id, events in histories:
        record = ClientRecord(clinic_id, client_id)
        for event in events:
            record.add_event(event, fact_from(event))
        changes.append((record, assess(record, domain.Thresholds())))
    await ClientStore(scoring.db[CLIENTS]).save_many(changes)


def fitter(scoring: Scoring) -> TrajectoryFitter:
    db = scoring.db
    return TrajectoryFitter(db.client, db[CLIENTS], TrajectoryModels(db[MODELS]), Outbox(db[OUTBOX]))


def therapist_ors(client: SyntheticClient, n: int, total: float) -> CloudEvent[FeedbackSubmittedV2]:
    rating = client.rating(n, Instrument.ORS, total)
    data = rating.data.model_copy(
        update={"respondent": Respondent.THERAPIST, "items": items(ORS_ITEMS, total)}
    )
    return rating.model_copy(update={"data": data, "id": f"{client.client_id}-therapist-ors-{n}"})


async def test_the_fit_reads_each_clients_own_ors_in_session_order(scoring: Scoring, unique: str) -> None:
    clinic = f"clinic-{unique}"
    gaps = SyntheticClient(clinic, "c-gaps", (17.0, 18.0, 0.0, 21.0, 22.5), WEEKS_AGO)
    # Sessions 1, 2, 4 and 5 with the client's ORS, session 3 with the therapist's only, applied newest first.
    events = [e for n in (5, 4, 2, 1) for e in gaps.session(n)] + [gaps.rating(3, Instrument.SRS, 38.0)]
    long = SyntheticClient(clinic, "c-long", tuple(round(10.0 + n / 10, 1) for n in range(25)), WEEKS_AGO)
    no_ors = SyntheticClient(clinic, "c-srs-only", (), WEEKS_AGO)
    other = SyntheticClient(f"another-{unique}", "c-one", (12.0,), WEEKS_AGO)
    await save(
        scoring,
        [
            (clinic, gaps.client_id, [*events, therapist_ors(gaps, 3, 30.0)]),
            (clinic, long.client_id, long.events()),
            (clinic, no_ors.client_id, [no_ors.rating(1, Instrument.SRS, 38.0)]),
            (other.clinic_id, other.client_id, other.events()),
        ],
    )

    found = [(clinic_id, sorted(clients)) async for clinic_id, clients in fitter(scoring).ors_by_clinic()]

    assert found == [
        (other.clinic_id, [[12.0]]),
        (clinic, sorted([[17.0, 18.0, 21.0, 22.5], list(long.ors[:20])])),
    ]


async def test_each_model_is_stored_announced_and_read_with_the_clinics_thresholds(
    scoring: Scoring, unique: str
) -> None:
    big, small, unfitted = f"big-{unique}", f"small-{unique}", f"none-{unique}"
    await seed(scoring, improving_clinic(big, 35, 6, WEEKS_AGO) + improving_clinic(small, 10, 6, WEEKS_AGO))
    fitted = await fitter(scoring).fit()

    assert [(m.scope, m.clinic_id, m.clients) for m in fitted] == [
        ("clinic", big, 35),
        ("clinic", small, 10),
        ("platform", None, 45),
    ]
    big_model, small_model, platform = fitted
    assert [b.band for b in big_model.bands] == [IntakeBand.FROM_15] and small_model.bands == ()
    assert platform.bands[0].clients == 45
    staged = await scoring.db[OUTBOX].find({"topic": topics.TRAJECTORIES_FITTED.name}).to_list()
    announced = {doc["key"]: TRAJECTORIES_FITTED.decode(doc["value"]).data for doc in staged}
    assert {key: data.model_version for key, data in announced.items()} == {
        big.encode(): big_model.version,
        small.encode(): small_model.version,
        b"platform": platform.version,
    }
    assert announced[small.encode()].bands == [] and announced[big.encode()].bands[0].clients == 35

    store = ClinicSettingsStore(scoring.db["scoring_clinic_settings"])
    thresholds = await store.thresholds_of([big, small, unfitted])
    by_clinic = {clinic: t.trajectories for clinic, t in thresholds.items()}
    assert all(expected is not None for expected in by_clinic.values())
    own = by_clinic[big].curve_for(17.0)  # type: ignore[union-attr]
    assert own is not None and (own.scope, own.version) == ("clinic", big_model.version)
    # The small clinic's model has no usable band: its clients are judged by the platform's curve.
    fallback = by_clinic[small].curve_for(17.0)  # type: ignore[union-attr]
    assert fallback is not None and (fallback.scope, fallback.version) == ("platform", platform.version)
    assert by_clinic[unfitted].clinic is None  # type: ignore[union-attr]
    assert await store.thresholds(big) == thresholds[big]
    assert domain.rules_version(thresholds[big]).endswith(f"+{big_model.version}/{platform.version}")

    # A refit of one clinic (and the platform) takes over; every fit is kept.
    refit = await fitter(scoring).fit(big, now=datetime.now(UTC) + timedelta(seconds=1))
    assert [m.clinic_id for m in refit] == [big, None]
    after = (await store.thresholds(big)).trajectories
    assert after is not None and after.versions == f"{refit[0].version}/{refit[1].version}"
    assert await scoring.db[MODELS].count_documents({"clinic_id": big}) == 2
    assert await scoring.db[MODELS].count_documents({"clinic_id": big, "latest": True}) == 1
    small_after = (await store.thresholds(small)).trajectories
    assert small_after is not None and small_after.clinic is not None
    assert small_after.clinic.version == small_model.version


async def test_a_clinic_without_any_ors_gets_a_model_that_says_so(scoring: Scoring, unique: str) -> None:
    clinic = f"clinic-{unique}"
    [model, platform] = await fitter(scoring).fit(clinic)
    assert (model.clinic_id, model.clients, model.bands) == (clinic, 0, ())
    assert (platform.scope, platform.clients) == ("platform", 0)


async def test_the_lease_lets_one_holder_in_until_it_lets_go_or_its_time_runs_out(scoring: Scoring) -> None:
    lease, now = FitLease(scoring.db[LEASES]), datetime.now(UTC)
    assert await lease.acquire("a", now, timedelta(minutes=1))
    assert not await lease.acquire("b", now, timedelta(minutes=1))
    assert await lease.acquire("a", now + timedelta(seconds=5), timedelta(minutes=1))  # still its own
    assert await lease.acquire("b", now + timedelta(minutes=2), timedelta(minutes=1))  # a died meanwhile
    await lease.release("a")  # not a's any more: nothing happens
    assert not await lease.acquire("a", now + timedelta(minutes=2), timedelta(minutes=1))
    await lease.release("b")
    assert await lease.acquire("a", now + timedelta(minutes=2), timedelta(minutes=1))


async def test_two_replicas_fit_once_per_interval(scoring: Scoring, unique: str) -> None:
    await seed(scoring, improving_clinic(f"clinic-{unique}", 30, 5, WEEKS_AGO))
    models = TrajectoryModels(scoring.db[MODELS])
    await models.ensure_indexes()
    day = timedelta(hours=24)
    replicas = [
        TrajectoryFitting(fitter(scoring), models, FitLease(scoring.db[LEASES]), holder, day)
        for holder in ("replica-1", "replica-2")
    ]
    now = datetime.now(UTC)

    async def both(at: datetime) -> list[int]:
        done = await asyncio.gather(*(replica.fit_if_due(at) for replica in replicas))
        return sorted(len(models) for models in done)

    assert await both(now) == [0, 2]  # one replica fitted the clinic and the platform
    assert await both(now + timedelta(hours=23)) == [0, 0]
    assert await both(now + day) == [0, 2]
    assert await scoring.db[MODELS].count_documents({"scope": "platform"}) == 2


async def test_the_service_fits_at_start_and_the_command_and_api_show_a_clinics_fit(
    scoring: Scoring, unique: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clinic = f"clinic-{unique}"
    monkeypatch.setenv("MONGODB_URI", scoring.settings.mongodb_uri)
    monkeypatch.setenv("MONGODB_DATABASE", scoring.settings.mongodb_database)
    async with scoring.running() as http:
        models = scoring.db[MODELS]

        async def fitted_at_start() -> bool:
            return await models.count_documents({"scope": "platform"}) > 0

        await eventually(fitted_at_start, within=15)
        [at_start] = await models.find({"scope": "platform"}).to_list()
        await seed(scoring, improving_clinic(clinic, 32, 6, WEEKS_AGO))

        await asyncio.to_thread(admin.main, ["fit-trajectories", clinic])
        printed = capsys.readouterr().out
        [clinic_doc] = await models.find({"clinic_id": clinic}).to_list()
        published = await records_matching(
            scoring.bootstrap,
            topics.TRAJECTORIES_FITTED.name,
            lambda r: json.loads(r.value)["data"]["model_version"] in {clinic_doc["_id"], at_start["_id"]},
            expected=2,
            within=20,
        )
        key = scoring.key_for(clinic, Scope.READ)
        shown = await http.get("/v1/clinic/trajectories", headers={"Authorization": f"Bearer {key}"})
        refused = await http.get(
            "/v1/clinic/trajectories",
            headers={"Authorization": f"Bearer {scoring.key_for(clinic, Scope.INGEST)}"},
        )
        exposed = (await http.get("/metrics")).text

    assert at_start["clients"] == 0 and at_start["bands"] == []  # nothing to fit yet: still a fit, on time
    assert sorted(r.key for r in published) == sorted([clinic.encode(), b"platform"])
    # The service in this process logs JSON lines to the same stdout; the command prints plain ones.
    lines = [line for line in printed.splitlines() if not line.startswith("{")]
    assert lines[0] == f"{clinic_doc['_id']}  (clinic {clinic}, 32 clients with an ORS)"
    assert lines[3].startswith(f"  15-19.9  b = {clinic_doc['bands'][0]['b']:.2f}  lower limit offset ")
    assert lines[3].endswith("32 clients, 160 changes")
    assert lines[1] == "  <10      too few clients: 0 with 4+ ORS, 30 needed"
    assert lines[-1] == "2 model(s) stored; the scoring service publishes them on trajectories.fitted"

    assert shown.status_code == 200, shown.text
    assert refused.status_code == 403
    body = shown.json()
    assert body["clinic_model"]["model_version"] == clinic_doc["_id"]
    bands = {band["band"]: band for band in body["bands"]}
    assert bands["15-19.9"]["curve_from"] == "clinic" and bands["15-19.9"]["clients"] == 32
    assert [p["t"] for p in bands["15-19.9"]["points"]] == [3, 5, 8, 12, 20]
    assert bands["25+"]["curve_from"] is None
    assert bands["25+"]["note"] == "fewer than 30 clients with 4 ORS: only ors_deterioration applies"
    assert 'alliance_trajectories_fitted_timestamp_seconds{scope="platform"}' in exposed
