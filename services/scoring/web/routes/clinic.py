"""The clinic view, for signed-in supervisors: the clinic's figures, per therapist, its open episodes, which
repairs work, and the expected change by intake band its clients are judged against."""

from collections.abc import Iterable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2.filters import do_urlencode
from markupsafe import Markup, escape

from services.scoring import clinic_figures
from services.scoring.clinic_figures import OpenEpisode
from services.scoring.trajectory_view import SHOWN_AT
from services.scoring.web.routes.pages import NoSession, Session, ViewsDep, render
from services.scoring.web.wording import HISTORY_WORDS, stale_words

router = APIRouter()


@router.get("/clinic", response_class=HTMLResponse)
async def clinic_view(request: Request, session: Session, views: ViewsDep) -> HTMLResponse:
    if session.role != "supervisor":
        raise NoSession()
    days = views.scoring.active_days
    found = await views.scoring.clients.active(session.clinic_id, datetime.now(UTC), days, open_episodes=True)
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
            "open_rows": open_episode_rows(found.open_episodes),
            "trajectories": await views.scoring.trajectories(session.clinic_id),
            "shown_at": SHOWN_AT,
        },
        session,
    )


def open_episode_rows(open_episodes: Iterable[OpenEpisode]) -> Markup:
    """The rows of the open episodes' table. Written here rather than in the template: a large clinic has
    thousands of open episodes, and the template engine takes several times as long for each row."""
    history = f' <span class="badge history" title="{escape(HISTORY_WORDS)}">from imported history</span>'
    rows = []
    for o in open_episodes:
        e, client, severity = o.episode, escape(o.client_id), escape(o.episode.severity)
        stale = ""
        if e.stale:  # the words read only how many sessions the episode has been open
            words = escape(stale_words(e))  # type: ignore[arg-type]
            stale = f' <span class="badge stale">stale</span> {words}'
        acknowledged = (
            escape(e.acknowledgement.acknowledged_by) if e.acknowledgement else "<strong>no</strong>"
        )
        rows.append(
            f'<tr data-client-id="{client}" class="{"stale" if e.stale else ""}">'
            f'<th scope="row"><a href="/views/clients/{escape(do_urlencode(o.client_id))}">{client}</a></th>'
            f"<td>{escape(e.therapist_id)}</td>"
            f'<td><span class="badge sev-{severity}">{severity}</span>{stale}'
            f"{history if e.from_history else ''}</td>"
            f"<td>{e.opened_at:%Y-%m-%d} ({o.days_open} days)</td>"
            f'<td class="num">{e.sessions_since_opening}</td>'
            f"<td>{acknowledged}</td></tr>\n"
        )
    return Markup("".join(rows))
