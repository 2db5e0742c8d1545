"""What the clinic's figures and a caseload cost as one clinic grows: the ``clinic`` section of
``python -m bench``.

One clinic is filled, through Kafka and a real scoring process, with the reference population's clients
(``calibration.population``: usual SRS totals, no-shows, therapist ratings, planted ruptures reported or not),
each with ten weekly sessions ending within the last five weeks, so every client is active and some of its
sessions fall outside the 90-day window. One therapist holds ``caseload`` of the clients; the rest are shared
among the clinic's other therapists. At each size the scoring service's own HTTP endpoints are timed one
request after another: the clinic summary, the clinic view (a signed-in supervisor), and the therapist's
caseload in the API and in the view.
"""

import asyncio
import re
import secrets
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from bench import kafka_io, pipeline
from bench.stats import percentile
from bench.workload import Record
from calibration.population import Parameters, PlannedClient, PlannedSession, planned_client
from services.scoring.app import OUTBOX
from services.scoring.handlers import CONSUMED
from shared.auth import Scope, hash_key
from shared.clinic_keys import SOURCE as KEYS_SOURCE
from shared.contracts import CLINIC_KEY, FEEDBACK_SUBMITTED, SESSION_COMPLETED, ClinicKeyV1, encode
from shared.topics import message_key

SIZES = (1000, 5000, 20000)  # clients in the clinic, the sizes
CASELOAD = 1000  # clients of the therapist whose caseload is timed
REPEATS = 30  # timed requests per endpoint and size
SESSIONS = 10
THERAPISTS = 40  # besides the one whose caseload is timed
CASELOAD_THERAPIST = "t-caseload"
SUPERVISOR = "sup-bench"
SRS_ITEMS = ("relationship", "goals", "approach", "overall")
PSQ_ITEMS = ("tension", "intensity", "resolution")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ENDPOINTS = ("summary", "clinic_view", "caseload", "caseload_view")
CONSUMED_TOPICS = sorted({kind.topic.name for kind in CONSUMED})
HISTORY_TOPIC = FEEDBACK_SUBMITTED.topic.name  # client.events: each client's history, in production order
# The reference population with a fixed course length: every client has the same number of sessions.
POPULATION = Parameters(min_sessions=SESSIONS, max_sessions=SESSIONS)


async def clinic_view_costs(
    env: Mapping[str, str],
    sizes: Sequence[int] = SIZES,
    caseload: int = CASELOAD,
    repeats: int = REPEATS,
    *,
    port: int,
    log_dir: Path,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """p50 and p95 (ms) of each endpoint at each clinic size, the clinic filled cumulatively up to each.

    ``env``: the stack's ``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URI`` and key-encryption keys. The scoring
    process listens on ``port``, its log and pid file go to ``log_dir``, and it gets a database and consumer
    group of its own, the database dropped afterwards. Each size is timed once the process has relayed
    everything it staged, so that only the requests compete; the progress goes to ``say``.

    Returns ``{"sizes", "caseload", "repeats", "sessions_per_client", "endpoints": {endpoint: {size:
    {"p50_ms", "p95_ms"}}}, "clinic": {size: {"active_clients", "clients_with_open_episode", "episodes",
    "events"}}}``, the endpoints being ``summary``, ``clinic_view``, ``caseload`` and ``caseload_view``."""
    sizes = sorted(sizes)
    if not sizes or caseload > sizes[0]:
        raise ValueError("the caseload must fit in the smallest clinic")
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    run = kafka_io.fresh_name("views")
    clinic_id, database, api_key = f"clinic-{run}", run.replace("-", "_"), secrets.token_urlsafe(24)
    await publish_read_key(bootstrap, clinic_id, api_key)
    await kafka_io.skip_to_end(bootstrap, run, CONSUMED_TOPICS)  # only this run's events are applied
    scoring_env = {
        **env,
        "SCORING_GROUP_ID": run,
        "MONGODB_DATABASE": database,
        "SCORING_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    results: dict[str, Any] = {
        "sizes": sizes,
        "caseload": caseload,
        "repeats": repeats,
        "sessions_per_client": SESSIONS,
        "endpoints": {name: {} for name in ENDPOINTS},
        "clinic": {},
    }
    try:
        with pipeline.running(
            run, [sys.executable, "-m", "services.scoring"], scoring_env, port, log_dir, ready_path="/readyz"
        ) as record:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
                await sign_in(http, api_key)
                filled, now = 0, datetime.now(UTC)
                for size in sizes:
                    started = time.monotonic()
                    records = clinic_records(clinic_id, range(filled, size), caseload, now)
                    await kafka_io.preload(bootstrap, records)
                    target = sum((await kafka_io.end_offsets(bootstrap, CONSUMED_TOPICS)).values())
                    consumed = kafka_io.wait_until_consumed(
                        bootstrap, run, CONSUMED_TOPICS, target, within=3600
                    )
                    await pipeline.unless_any_exits([record], log_dir, consumed)
                    await pipeline.unless_any_exits([record], log_dir, relayed(env["MONGODB_URI"], database))
                    filled = size
                    say(
                        f"{size} clients: {len(records)} events applied in {time.monotonic() - started:.0f} s"
                    )
                    summary = (await _get(http, "/v1/clinic/summary", api_key)).json()
                    results["clinic"][size] = {
                        "active_clients": summary["active_clients"],
                        "clients_with_open_episode": summary["clients_with_open_episode"],
                        "episodes": summary["episodes"],
                        "events": len(records),
                    }
                    for name, path in paths().items():
                        samples = await timed(
                            http, path, api_key if path.startswith("/v1") else None, repeats
                        )
                        results["endpoints"][name][size] = {
                            "p50_ms": round(percentile(samples, 0.50), 1),
                            "p95_ms": round(percentile(samples, 0.95), 1),
                        }
                        say(f"  {name}: {results['endpoints'][name][size]}")
    finally:
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(env["MONGODB_URI"])
        try:
            await mongo.drop_database(database)
        finally:
            await mongo.close()
    return results


def paths() -> dict[str, str]:
    return {
        "summary": "/v1/clinic/summary",
        "clinic_view": "/views/clinic",
        "caseload": f"/v1/therapists/{CASELOAD_THERAPIST}/caseload",
        "caseload_view": f"/views/caseload/{CASELOAD_THERAPIST}",
    }


async def timed(http: httpx.AsyncClient, path: str, api_key: str | None, repeats: int) -> list[float]:
    """Milliseconds of ``repeats`` requests, one after another, after two that warm the caches up."""
    for _ in range(2):
        await _get(http, path, api_key)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        await _get(http, path, api_key)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _get(http: httpx.AsyncClient, path: str, api_key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    answer = await http.get(path, headers=headers)
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path} answered {answer.status_code}: {answer.text[:300]}")
    return answer


async def sign_in(http: httpx.AsyncClient, api_key: str) -> None:
    """A supervisor's view session, as a browser gets one: the sign-in form's CSRF token, then the key."""
    form = await http.get("/views/sign-in")
    token = CSRF.search(form.text)
    if token is None:
        raise RuntimeError("the sign-in page carries no CSRF token")
    signed = await http.post(
        "/views/sign-in", data={"api_key": api_key, "your_id": SUPERVISOR, "csrf_token": token.group(1)}
    )
    if signed.status_code != 303:
        raise RuntimeError(f"sign-in answered {signed.status_code}")


async def publish_read_key(bootstrap: str, clinic_id: str, api_key: str) -> None:
    """The clinic's read key on ``clinic.keys``, as ``alliance issue-key`` publishes it: the scoring process
    reads that topic to its end before it is ready."""
    data = ClinicKeyV1(
        key_hash=hash_key(api_key),
        clinic_id=clinic_id,
        scopes=[Scope.READ],
        revoked=False,
        changed_at=datetime.now(UTC),
    )
    event = CLINIC_KEY.envelope(data, clinic_id=clinic_id, subject=data.key_hash, source=KEYS_SOURCE)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(CLINIC_KEY.topic.name, encode(event), key=data.key_hash.encode())
    finally:
        await producer.stop()


def clinic_records(clinic_id: str, numbers: range, caseload: int, now: datetime) -> list[Record]:
    """The events of clients ``numbers`` of the clinic, each client's in the order they are produced."""
    records: list[Record] = []
    for number in numbers:
        planned = planned_client(POPULATION, seed=1, index=number)
        therapist = CASELOAD_THERAPIST if number < caseload else f"t-{number % THERAPISTS:02d}"
        client = replace(planned, clinic_id=clinic_id, therapist_id=therapist, client_id=f"c-{number:05d}")
        # The latest session 0–34 days ago, the sessions a week apart: all active, the oldest outside 90 days.
        last = now - timedelta(days=number % 35, hours=2 + number % 7)
        for session in client.sessions:
            at = last - timedelta(weeks=len(client.sessions) - 1 - session.index)
            records.extend(session_records(client, session, at))
    return records


def session_records(client: PlannedClient, session: PlannedSession, at: datetime) -> list[Record]:
    """The session record, then the client's rupture report when it says tension, the client's SRS and, every
    other session, the therapist's SRS: what the intake publishes after a session, a minute apart."""
    session_id = f"{client.client_id}-s{session.index + 1:02d}"
    key = message_key(client.clinic_id, client.client_id)
    ids = {"session_id": session_id, "therapist_id": client.therapist_id, "client_id": client.client_id}
    attended = "attended" if session.attended else "no_show"
    attendance = SESSION_COMPLETED.model.model_validate(
        {**ids, "occurred_at": at, "attendance": attended, "scheduled_minutes": 50}
    )
    events = [
        SESSION_COMPLETED.envelope(
            attendance, clinic_id=client.clinic_id, client_id=client.client_id, source="/bench"
        )
    ]
    ratings: list[tuple[str, str, tuple[float, ...] | tuple[int, ...] | None, tuple[str, ...]]] = [
        ("psq", "client", session.client_psq if session.psq_tension else None, PSQ_ITEMS),
        ("srs", "client", session.client_srs, SRS_ITEMS),
        ("srs", "therapist", session.therapist_srs if session.index % 2 else None, SRS_ITEMS),
    ]
    for minute, (instrument, respondent, values, names) in enumerate(ratings, start=51):
        if values is None:
            continue
        feedback = FEEDBACK_SUBMITTED.model.model_validate(
            {
                **ids,
                "session_at": at,
                "instrument": instrument,
                "respondent": respondent,
                "items": dict(zip(names, values, strict=True)),
                "submitted_at": at + timedelta(minutes=minute),
            }
        )
        events.append(
            FEEDBACK_SUBMITTED.envelope(
                feedback, clinic_id=client.clinic_id, client_id=client.client_id, source="/bench"
            )
        )
    return [Record(HISTORY_TOPIC, key, encode(event), client.client_id) for event in events]


async def relayed(uri: str, database: str, within: float = 900.0) -> None:
    """Wait until the scoring process has relayed every event it staged: until then its relay competes with the
    requests being timed (tens of thousands of events follow a large import)."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        outbox = mongo[database][OUTBOX]
        deadline = time.monotonic() + within
        while await outbox.count_documents({"published_at": None}, limit=1):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the scoring process still relays after {within:.0f} s")
            await asyncio.sleep(0.5)
    finally:
        await mongo.close()
