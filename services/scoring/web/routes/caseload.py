"""One therapist's caseload: the clients whose latest session was with them, most in need first."""

from collections.abc import Iterable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2.filters import do_urlencode
from markupsafe import Markup, escape

from services.scoring.web import figures
from services.scoring.web.routes.pages import NotFound, Session, ViewsDep, principal, render
from services.scoring.web.wording import HISTORY_WORDS, stale_words

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
            "cutoff": float(thresholds.srs_cutoff),
            "table_rows": caseload_table_rows(rows, float(thresholds.srs_cutoff)),
        },
        session,
    )


def caseload_table_rows(rows: Iterable[figures.CaseloadRow], cutoff: float) -> Markup:
    """The rows of the caseload table. Written here rather than in the template: a caseload of a thousand
    clients took the template engine several times as long."""
    history = f' <span class="badge history" title="{escape(HISTORY_WORDS)}">from imported history</span>'
    cutoff_y = figures.spark_y(cutoff)
    lines = []
    for row in rows:
        client, e, summary = escape(row.client_id), row.open_episode, row.summary
        episode = "–"
        if e is not None:
            severity = escape(e.severity)
            stale = (
                f' <span class="badge stale" title="{escape(stale_words(e))}">stale</span>' if e.stale else ""
            )
            badge = f'<span class="badge sev-{severity}">{severity}</span>'
            episode = f"{badge}{stale}{history if e.from_history else ''}"
        spark = "–"
        if row.recent_totals:
            declining = "declining" if summary.trend is not None and summary.trend < 0 else ""
            totals = [str(total) for total in row.recent_totals]
            spark = (
                f'<svg class="spark" width="120" height="28" viewBox="0 0 120 28" role="img"\n'
                f'          aria-label="SRS totals: {", ".join(totals)}" data-totals="{",".join(totals)}">\n'
                f'          <line x1="0" x2="120" y1="{cutoff_y}" y2="{cutoff_y}" class="spark-cutoff"/>\n'
                f'          <polyline points="{row.spark}" class="spark-line {declining}"/>\n'
                f"        </svg>"
            )
        latest = summary.latest_srs_total
        below = "below" if latest is not None and latest < cutoff else ""
        lines.append(
            f'<tr data-client-id="{client}">\n'
            f'      <th scope="row"><a href="/views/clients/{escape(do_urlencode(row.client_id))}">{client}</a></th>\n'
            f"      <td>{episode}</td>\n"
            f"      <td>{spark}</td>\n"
            f'      <td class="num {below}">{_number(latest)}</td>\n'
            f'      <td class="num">{_number(summary.baseline)}</td>\n'
            f'      <td class="num">{_number(summary.trend, 2)}</td>\n'
            f'      <td class="num">{row.days_since if row.days_since is not None else "–"}</td>\n'
            f"    </tr>\n"
        )
    return Markup("".join(lines))


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"
