"""One therapist's caseload: the clients whose latest session was with them, most in need first."""

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.scoring.web import figures
from services.scoring.web.routes.pages import NotFound, Session, ViewsDep, principal, render

router = APIRouter()


@router.get("/caseload/{therapist_id}", response_class=HTMLResponse)
async def caseload_view(
    therapist_id: str, request: Request, session: Session, views: ViewsDep
) -> HTMLResponse:
    if not session.may_see_caseload(therapist_id):
        raise NotFound()
    now = datetime.now(UTC)
    rows = figures.caseload_rows(await views.queries.caseload(session.clinic_id, therapist_id), now)
    await views.scoring.audit.record(
        principal(session),
        "GET /views/caseload/{therapist_id}",
        [row.client_id for row in rows],
        actor=session.who,
    )
    thresholds = await views.scoring.settings.thresholds(session.clinic_id)
    return render(
        request,
        "caseload.html",
        {
            "therapist_id": therapist_id,
            "rows": rows,
            "cutoff_y": figures.spark_y(float(thresholds.srs_cutoff)),
            "cutoff": float(thresholds.srs_cutoff),
        },
        session,
    )
