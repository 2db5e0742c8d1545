"""The clinician views' routes, one module per view, assembled here.

Routes (``/views/...``, outside the JSON API and its OpenAPI document, except ``POST /v1/view-links``):

- ``POST /v1/view-links`` (a ``read`` or ``admin`` key): a signed, expiring link to one client's view or one
  therapist's caseload, for one therapist (``links``);
- ``GET /views/links/{token}``: opens such a link: starts a view session limited to it, then goes to the view;
- ``GET``/``POST /views/sign-in``: supervisors sign in with a ``read`` clinic key; ``POST /views/sign-out``
  (``sign_in``);
- ``GET /views/clients/{id}`` (``client``), ``GET /views/caseload/{therapist_id}`` (``caseload``),
  ``GET /views/clinic`` (``clinic``): the views;
- ``POST /views/clients/{id}/ruptures/{rupture_id}/acknowledge`` and ``.../resolve``: the buttons, and
  ``POST /views/clients/{id}/notes`` and ``.../client-link``: share a note, get a link to the client's page
  (``client``);
- ``POST /views/clients/{id}/goals`` and ``.../goals/{goal_id}/close``: agree or revise the client's goals, close
  one (``goals``);
- ``POST /v1/client-links`` (any key) and ``GET /c/{token}``: a client's own page (``client_page``).

Every POST form carries the session's CSRF token. Anything of another clinic, or outside what a link grants,
answers 404 exactly like what does not exist. Every view of one client's data is written to the audit log.
"""

from fastapi import APIRouter

from services.scoring.web.routes import caseload, client, client_page, clinic, goals, links, sign_in
from services.scoring.web.routes.pages import STATIC_DIR, STATIC_URL, Views, install_handlers

__all__ = [
    "STATIC_DIR",
    "STATIC_URL",
    "Views",
    "client_link_router",
    "client_page_router",
    "install_handlers",
    "link_router",
    "router",
]

link_router = links.link_router
client_link_router = client_page.link_router
client_page_router = client_page.router  # /c/{token}: the client's own page, outside /views
router = APIRouter(prefix="/views", include_in_schema=False)
for view in (links, sign_in, client, goals, caseload, clinic):
    router.include_router(view.router)
