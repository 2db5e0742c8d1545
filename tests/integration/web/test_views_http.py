"""The views over plain HTTP on the real servers: who may issue links, CSRF, the session cookie, revocation, the
audit log, and a caseload of 200 clients rendered in under a second."""

import asyncio
import html
import re
import time
from datetime import UTC, datetime

import httpx
import pytest

from devstack import demo
from shared.auth import Scope, hash_key
from tests.integration.web.conftest import ViewsStack, demo_events, seed_read_models

pytestmark = pytest.mark.integration
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BIG_CASELOAD = 200


async def opened(views_stack: ViewsStack, http: httpx.AsyncClient, **link: str) -> str:
    """Open a fresh link in ``http`` (which keeps the cookie); returns the view's path."""
    url = await views_stack.link(views_stack.clinic, **link)
    page = await http.get(url)
    assert page.status_code == 200
    target = re.search(r'id="continue" href="([^"]+)"', page.text)
    assert target is not None
    return target.group(1)


async def test_only_read_or_admin_keys_issue_links_to_their_own_clinics_clients(
    views_stack: ViewsStack,
) -> None:
    clinic = views_stack.clinic
    body = {"view": "client", "client_id": "c-stale", "therapist_id": "t-demo-1"}
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:

        async def issue(key: str | None, json: dict[str, str]) -> httpx.Response:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return await http.post("/v1/view-links", json=json, headers=headers)

        assert (await issue(None, body)).status_code == 401
        assert (await issue(views_stack.key_for(clinic, Scope.INGEST), body)).status_code == 403
        admin = views_stack.key_for(clinic, Scope.ADMIN)
        assert (await issue(admin, body)).status_code == 200
        assert (await issue(admin, {**body, "client_id": "c-nobody"})).status_code == 404
        other = views_stack.key_for(views_stack.other_clinic, Scope.READ)
        assert (await issue(other, body)).status_code == 404  # c-stale is clinic A's
        assert (await issue(admin, {"view": "client", "therapist_id": "t-demo-1"})).status_code == 422
        answer = (await issue(admin, {"view": "caseload", "therapist_id": "t-demo-2"})).json()
        assert answer["url"].startswith(f"{views_stack.base_url}/views/links/")
        assert datetime.fromisoformat(answer["expires_at"]) > datetime.now(UTC)


async def test_every_form_needs_the_sessions_csrf_token(views_stack: ViewsStack) -> None:
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        path = await opened(
            views_stack, http, view="client", client_id="c-blind-spot", therapist_id="t-demo-2"
        )
        page = await http.get(path)
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        match = CSRF.search(page.text)
        assert match is not None
        token = match.group(1)
        rupture = (await views_stack.alliance(views_stack.clinic, "c-blind-spot"))["open_episode"][
            "rupture_id"
        ]
        action = f"{path}/ruptures/{rupture}/resolve"
        assert (await http.post(action, data={"note": "n"})).status_code == 403
        assert (await http.post(action, data={"note": "n", "csrf_token": token + "x"})).status_code == 403
        # Another session's token is worth nothing here either.
        async with httpx.AsyncClient(base_url=views_stack.base_url) as other:
            await opened(views_stack, other, view="client", client_id="c-blind-spot", therapist_id="t-demo-2")
            other_page = await other.get(path)
            other_match = CSRF.search(other_page.text)
            assert other_match is not None and other_match.group(1) != token
        assert (
            await http.post(action, data={"note": "n", "csrf_token": other_match.group(1)})
        ).status_code == 403
        still = await views_stack.alliance(views_stack.clinic, "c-blind-spot")
        assert still["open_episode"]["rupture_id"] == rupture  # nothing was resolved
        # A rupture of a client this link does not cover is a 404, even with the right token.
        stale = (await views_stack.alliance(views_stack.clinic, "c-stale"))["open_episode"]
        if stale is not None:
            answer = await http.post(
                f"/views/clients/c-stale/ruptures/{stale['rupture_id']}/acknowledge",
                data={"csrf_token": token},
            )
            assert answer.status_code == 404


async def test_sign_in_gives_a_strict_http_only_cookie_that_ends_with_its_key(
    views_stack: ViewsStack,
) -> None:
    clinic = views_stack.clinic
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        form = await http.get("/views/sign-in")
        match = CSRF.search(form.text)
        assert match is not None
        key = views_stack.key_for(clinic, Scope.READ)
        refused = await http.post("/views/sign-in", data={"api_key": key, "your_id": "sup-2"})
        assert refused.status_code == 403  # no CSRF token
        signed = await http.post(
            "/views/sign-in", data={"api_key": key, "your_id": "sup-2", "csrf_token": match.group(1)}
        )
        assert signed.status_code == 303 and signed.headers["location"] == "/views/clinic"
        cookie = signed.headers["set-cookie"].lower()
        for flag in ("httponly", "samesite=strict", "path=/views", "max-age=28800"):
            assert flag in cookie, flag
        assert (await http.get("/views/clinic")).status_code == 200
        # A therapist's link session does not open the clinic view.
        async with httpx.AsyncClient(base_url=views_stack.base_url) as therapist:
            await opened(views_stack, therapist, view="caseload", therapist_id="t-demo-1")
            assert (await therapist.get("/views/clinic")).status_code == 303
        # Revoking the key ends the sessions it opened.
        views_stack.ring.apply(hash_key(key), clinic, frozenset({Scope.READ}), revoked=True)
        after = await http.get("/views/clinic")
        assert after.status_code == 303 and after.headers["location"] == "/views/sign-in"


async def test_a_caseload_of_200_clients_renders_in_under_a_second(views_stack: ViewsStack) -> None:
    clinic = f"{views_stack.clinic}-big"
    clients = tuple(
        demo.DemoClient(
            f"c-big-{n:03d}",
            "t-big",
            tuple(38.0 - ((n * 7 + s * 3) % 11) * 0.5 for s in range(demo.SESSIONS)),
            tuple(38.5 for _ in range(demo.SESSIONS)),
            tuple(25.0 + s * 0.5 for s in range(demo.SESSIONS)),
            "many",
        )
        for n in range(BIG_CASELOAD)
    )
    await seed_read_models(views_stack.db, clinic, demo_events(clinic, datetime.now(UTC), clients))
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        url = await views_stack.link(clinic, view="caseload", therapist_id="t-big")
        assert (await http.get(url)).status_code == 200
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            page = await http.get("/views/caseload/t-big")
            timings.append(time.perf_counter() - started)
            assert page.status_code == 200
        print(f"caseload of {BIG_CASELOAD}: " + ", ".join(f"{t * 1000:.0f} ms" for t in timings))
        assert max(timings) < 1.0, timings
        assert page.text.count('<tr data-client-id="c-big-') == BIG_CASELOAD
        assert page.text.count('class="spark"') == BIG_CASELOAD
    audit = await views_stack.db["scoring_audit"].find_one(
        {"clinic_id": clinic, "route": "GET /views/caseload/{therapist_id}"}
    )
    assert (
        audit is not None and len(audit["client_ids"]) == BIG_CASELOAD and audit["actor"] == "therapist:t-big"
    )


async def signed_in_supervisor(views_stack: ViewsStack, http: httpx.AsyncClient, clinic_id: str) -> None:
    form = await http.get("/views/sign-in")
    match = CSRF.search(form.text)
    assert match is not None
    key = views_stack.key_for(clinic_id, Scope.READ)
    signed = await http.post(
        "/views/sign-in", data={"api_key": key, "your_id": "sup-9", "csrf_token": match.group(1)}
    )
    assert signed.status_code == 303


def text_of(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S)
    assert match is not None, element_id
    return " ".join(match.group(1).split())


async def test_the_clinic_view_sets_its_alert_rate_beside_the_budget(views_stack: ViewsStack) -> None:
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        await signed_in_supervisor(views_stack, http, views_stack.clinic)
        live = (await http.get("/views/clinic")).text
    # Announced live: 4 alerts (three episodes' high alerts and one stale escalation) in 50 sessions.
    assert text_of(live, "alert-rate") == "0.080"
    assert text_of(live, "alert-budget") == "0.06"
    assert text_of(live, "budget-note").startswith("above the budget")
    assert text_of(live, "alert-counts") == (
        "4 push alerts in 50 sessions; 0 from imported history, not pushed"
    )
    assert 'class="over"' in live


async def test_an_imported_history_is_marked_and_settled_is_not_repaired(views_stack: ViewsStack) -> None:
    clinic = views_stack.imported_clinic
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        await signed_in_supervisor(views_stack, http, clinic)
        page = (await http.get("/views/clinic")).text
        stale = (await http.get("/views/clients/c-stale")).text
        usual_low = (await http.get("/views/clients/c-usual-low")).text
    # Every alert of the import was about a session older than the push horizon: none counts as pushed.
    assert text_of(page, "alert-rate") == "0.000"
    assert text_of(page, "budget-note") == "within the budget"
    assert (
        text_of(page, "alert-counts") == "0 push alerts in 60 sessions; 5 from imported history, not pushed"
    )
    assert text_of(page, "closed-counts") == "1 / 3 / 0"
    assert (text_of(page, "repair-rate"), text_of(page, "settle-rate")) == ("25 %", "75 %")
    assert page.count(">from imported history</span>") == 2  # the two open episodes
    assert "still open after 5 sessions and still hurting" in page

    assert "from imported history" in text_of(stale, "from-history")
    assert "not e-mailed" in stale
    assert text_of(stale, "stale-words") == "still open after 5 sessions and still hurting"
    assert text_of(stale, "episode-alerts").startswith("Alerts: high (")

    assert text_of(usual_low, "closed-counts") == "0 / 3 / 0"
    hows = re.findall(r'<td class="how"[^>]*>([^<]*)</td>', usual_low)
    assert hows == ["settled (not a repair)"] * 3
    low = re.findall(r'data-code="below_cutoff" data-level="(\w+)" class="lvl-\w+">([^<]*)<', usual_low)
    assert [level for level, _ in low] == ["medium"] * 3 + ["low"] * 7  # medium until a baseline exists
    assert all(
        ("but this is the client's usual" in html.unescape(words)) == (level == "low") for level, words in low
    )


async def test_a_therapist_shares_a_note_once_however_often_the_form_is_sent(views_stack: ViewsStack) -> None:
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        path = await opened(views_stack, http, view="client", client_id="c-steady", therapist_id="t-demo-1")
        page = await http.get(path)
        csrf, note_id = CSRF.search(page.text), re.search(r'name="note_id" value="([0-9a-f]{32})"', page.text)
        session = re.search(
            r'<select id="note-session" name="session_id">\s*<option value="([^"]+)"', page.text
        )
        assert csrf and note_id and session, "the client view has no note form"
        form = {
            "csrf_token": csrf.group(1),
            "note_id": note_id.group(1),
            "session_id": session.group(1),
            "text": "Next: the evening check-in, twice this week.",
        }
        for _ in range(2):  # a double click
            sent = await http.post(f"{path}/notes", data=form)
            assert sent.status_code == 303 and sent.headers["location"].endswith("done=note-shared")
        assert (await http.post(f"{path}/notes", data={**form, "csrf_token": "x"})).status_code == 403
        assert (await http.post(f"{path}/notes", data={**form, "session_id": "s-nobody"})).status_code == 404

        deadline = time.monotonic() + 20
        while not (notes := (await views_stack.alliance(views_stack.clinic, "c-steady")).get("notes")):
            assert time.monotonic() < deadline, "the shared note never reached the client's alliance"
            await asyncio.sleep(0.2)
        assert [(n["note_id"], n["session_id"], n["fit"]) for n in notes] == [
            (note_id.group(1), session.group(1), None)
        ]
        shown = await http.get(path)
        assert html.escape("Next: the evening check-in, twice this week.") in shown.text
        assert "not answered yet" in shown.text


async def test_the_therapist_gets_a_link_to_the_clients_own_page_from_the_client_view(
    views_stack: ViewsStack,
) -> None:
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        path = await opened(views_stack, http, view="client", client_id="c-steady", therapist_id="t-demo-1")
        csrf = CSRF.search((await http.get(path)).text)
        assert csrf is not None
        assert (await http.post(f"{path}/client-link", data={"csrf_token": "x"})).status_code == 403
        given = await http.post(f"{path}/client-link", data={"csrf_token": csrf.group(1)})
        assert given.status_code == 200 and given.headers["cache-control"] == "no-store"
        found = re.search(r'id="client-link-url" type="text" readonly value="([^"]+)"', given.text)
        assert found is not None
        url = html.unescape(found.group(1))
        assert url.startswith(f"{views_stack.base_url}/c/")
        # Outside what the link grants (another client of the caseload is not in a client link): 404.
        other = await http.post("/views/clients/c-stale/client-link", data={"csrf_token": csrf.group(1)})
        assert other.status_code == 404
    async with httpx.AsyncClient() as browser:  # the client, without the therapist's cookie
        page = await browser.get(url)
    assert page.status_code == 200 and "Your page" in page.text
    audit = await views_stack.db["scoring_audit"].find_one(
        {"route": "POST /views/clients/{client_id}/client-link", "client_ids": ["c-steady"]}
    )
    assert audit is not None and audit["actor"] == "therapist:t-demo-1"
