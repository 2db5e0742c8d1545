"""Web pages served by the scoring service: the clinician views (one client, one therapist's caseload, the
clinic) and each client's own page.

``install`` adds the routes, the static assets and the error pages to the scoring app.
"""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.scoring.api import ScoringApi
from services.scoring.web import routes
from services.scoring.web.access import SessionCookies, ViewLinks
from services.scoring.web.actions import Plumbing
from services.scoring.web.queries import ViewQueries
from services.scoring.web.settings import WebSettings
from shared.client_links import ClientPages, ClientPageSettings

__all__ = ["ClientPageSettings", "Plumbing", "WebSettings", "install"]


def install(
    app: FastAPI,
    scoring: ScoringApi,
    plumbing: Plumbing,
    settings: WebSettings | None = None,
    client_pages: ClientPageSettings | None = None,
) -> None:
    settings = settings or WebSettings()
    secret = settings.secret.get_secret_value()
    app.state.views = routes.Views(
        scoring=scoring,
        queries=ViewQueries(scoring.clients.collection),
        links=ViewLinks(secret, settings.public_url, settings.link_max_age_days),
        cookies=SessionCookies(secret, settings.session_max_age_hours, settings.secure_cookies),
        plumbing=plumbing,
        settings=settings,
        pages=ClientPages(client_pages or ClientPageSettings()),
    )
    app.include_router(routes.link_router)
    app.include_router(routes.router)
    app.include_router(routes.client_link_router)
    app.include_router(routes.client_page_router)
    app.mount(routes.STATIC_URL, StaticFiles(directory=routes.STATIC_DIR), name="views-static")
    routes.install_handlers(app)
