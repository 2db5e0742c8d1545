"""The clinic view, for signed-in supervisors: the clinic's figures, per therapist, its open episodes, which
repairs work, and the expected change by intake band its clients are judged against."""

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.scoring import clinic_figures
from services.scoring.trajectory_view import SHOWN_AT
from services.scoring.web.routes.pages import NoSession, Session, ViewsDep, render

router = APIRouter()


@router.get("/clinic", response_class=HTMLResponse)
async def clinic_view(request: Request, session: Session, views: ViewsDep) -> HTMLResponse:
    if session.role != "supervisor":
        raise NoSession()
    now = datetime.now(UTC)
    days = views.scoring.active_days
    active = await views.scoring.clients.active(session.clinic_id, now - timedelta(days=days))
    found = clinic_figures.clinic_figures(active, now, window_days=days)
    chart = {
        "therapists": list(found.therapists),
        "open_share": [round((f.open_share or 0.0) * 100, 1) for f in found.therapists.values()],
        "guide": clinic_figures.ONE_IN_TEN * 100,
        "clinic_share": round((found.clinic.open_share or 0.0) * 100, 1),
    }
    return render(
        request,
        "clinic.html",
        {
            "figures": found,
            "chart": chart,
            "active_days": days,
            "guide": clinic_figures.ONE_IN_TEN,
            "budget": clinic_figures.PUSH_ALERT_BUDGET,
            "repairs": {
                "by type of rupture": found.repairs.type_figures(),
                "by repair strategy": found.repairs.strategy_figures(),
            },
            "too_few": clinic_figures.TOO_FEW_TO_COMPARE,
            "trajectories": await views.scoring.trajectories(session.clinic_id),
            "shown_at": SHOWN_AT,
        },
        session,
    )
