"""The feedback service: HTTP intake (REST, batch, FHIR) and the client form, in front of Kafka."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pymongo import WriteConcern
from pymongo.errors import ConnectionFailure, PyMongoError

from services.feedback import api, batch
from services.feedback.body_limit import BodyLimit
from services.feedback.erasure import FeedbackPurge
from services.feedback.event_store import intake_broker
from services.feedback.fhir.questionnaire_routes import router as questionnaire_router
from services.feedback.fhir.routes import install_fhir_errors
from services.feedback.fhir.routes import router as fhir_router
from services.feedback.goals import COLLECTION as GOALS_COLLECTION
from services.feedback.goals import GoalStore, read_goals
from services.feedback.idempotency import Fingerprints, IdempotencyStore
from services.feedback.intake import RETRY_AFTER_SECONDS, STORAGE_UNAVAILABLE
from services.feedback.links import client_page, form, issue
from services.feedback.links.tokens import LinkSigner
from services.feedback.links.used import UsedLinks
from services.feedback.metrics import CountRefusals
from services.feedback.rate_limit import COLLECTION as BUDGET_COLLECTION
from services.feedback.rate_limit import KeyBudget
from services.feedback.sealing import Outgoing
from services.feedback.settings import DEV_LINK_SECRET, FeedbackSettings
from shared import mongo
from shared.auth import KeyRing
from shared.client_links import ClientPages, ClientPageSettings
from shared.clinic_keys import catch_up, follow_keys
from shared.http_ops import add_operations
from shared.logging import configure_logging
from shared.messaging import watch_consumer_lag
from shared.privacy.plumbing import Privacy
from shared.serve import worker_number
from shared.tracing import configure_tracing

SERVICE = "feedback"
log = logging.getLogger("alliance.feedback")


async def storage_unavailable(request: Request, error: Exception) -> JSONResponse:
    """503 for a MongoDB that cannot be reached in time (an election, a cut-off primary); any other database
    error is a bug and stays a 500."""
    if isinstance(error, ConnectionFailure) or (isinstance(error, PyMongoError) and error.timeout):
        log.warning("MongoDB unavailable: %s", type(error).__name__)
        return JSONResponse(
            {"detail": STORAGE_UNAVAILABLE}, status_code=503, headers={"Retry-After": RETRY_AFTER_SECONDS}
        )
    raise error


def create_app(
    settings: FeedbackSettings | None = None, client_pages: ClientPageSettings | None = None
) -> FastAPI:
    settings = settings or FeedbackSettings()
    configure_logging(SERVICE, settings.log_level)
    configure_tracing(settings, SERVICE)
    if settings.link_secret == DEV_LINK_SECRET:
        log.warning(
            "FEEDBACK_LINK_SECRET is not set: feedback links are signed with the public development secret. "
            "Anyone can forge them. Set FEEDBACK_LINK_SECRET before real clients get links."
        )
    broker = intake_broker(settings, SERVICE)
    client = mongo.connect(settings, timeout_ms=settings.mongodb_timeout_ms)
    database = mongo.database(client, settings)
    key_ring = KeyRing()
    follow_keys(broker, key_ring)
    privacy = Privacy.of(
        database, settings
    )  # the words people write leave this service sealed (docs/privacy.md)
    idempotency = IdempotencyStore(
        database.get_collection("feedback_idempotency"),
        timedelta(hours=settings.idempotency_hours),
        Fingerprints(privacy.keys.keks),
    )
    used_links = UsedLinks(database.get_collection("feedback_links_used"))
    goals = GoalStore(database.get_collection(GOALS_COLLECTION))
    # w=1: a request must not wait for a majority of a replica set to journal a counter (a majority write
    # waits for the secondaries' journal commits); a failover loses a few counts, admitting a few requests
    # more, never refusing one wrongly.
    key_budget = KeyBudget(
        database.get_collection(BUDGET_COLLECTION, write_concern=WriteConcern(w=1)), settings.rate_limit
    )
    purge = FeedbackPurge(privacy, idempotency, used_links, goals)
    privacy.follow(broker, purge)
    # Of several workers, the first alone reads the goals, under INSTANCE_ID as a single process does: the others
    # find them in the database they share. Consumers of one group that start together can keep each other
    # rebalancing (aiokafka sends a JoinGroup per assignor, aio-libs/aiokafka#1168), and workers always do.
    if worker_number() in (None, 0):
        read_goals(broker, goals, privacy, purge.client, settings.group_id, settings.instance_id)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await catch_up(key_ring, settings.kafka_bootstrap_servers)
        await idempotency.ensure_indexes()
        await used_links.ensure_indexes()
        await key_budget.ensure_indexes()
        await privacy.start(settings.kafka_bootstrap_servers)  # every erasure known before any request
        sealed = await goals.seal_clear_texts(privacy)
        if sealed:
            log.info("sealed goal texts stored in the clear", extra={"clients": sealed})
        await broker.start()
        watch_consumer_lag(broker, settings.kafka_bootstrap_servers)  # ends when the broker stops
        try:
            yield
        finally:
            await broker.stop()
            await client.close()

    app = FastAPI(
        title="Alliance feedback intake",
        version="1",
        description=(
            "Sessions, ratings, notes and goals in: REST, batch and FHIR, plus signed single-use links to a "
            "client web form. "
            "Every accepted write is durably in Kafka (acks=all) before the answer; Kafka down means 503 and "
            "nothing stored. See docs/integration.md."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.broker = broker
    app.state.key_ring = key_ring
    app.state.key_budget = key_budget
    app.state.idempotency = idempotency
    app.state.used_links = used_links
    app.state.goals = goals
    app.state.privacy = privacy
    app.state.purge = purge
    app.state.outgoing = Outgoing(privacy, purge.client)
    app.state.link_signer = LinkSigner(settings.link_secret)
    app.state.client_pages = ClientPages(client_pages or ClientPageSettings())
    app.add_middleware(BodyLimit)
    app.add_middleware(CountRefusals)  # added last, so outermost: a body refused as too large counts too
    app.exception_handler(PyMongoError)(storage_unavailable)
    install_fhir_errors(app)
    for router in (
        api.router,
        batch.router,
        fhir_router,
        questionnaire_router,
        issue.router,
        form.router,
        client_page.router,
    ):
        app.include_router(router)
    add_operations(app, broker, client)
    return app
