"""A client's own page on the real servers: scoring serves it (uvicorn, real Kafka and MongoDB), the feedback
intake takes what the client does there, and a headless Chromium uses it on a phone-sized and a desktop window,
with axe-core checking it. Writes docs/img/client-page*.png."""

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from services.feedback.app import create_app as create_intake
from shared.auth import KeyRing, Scope, hash_key
from shared.client_links import ClientPageLink, ClientPages, ClientPageSettings
from shared.topics import CLIENT_EVENTS
from tests.integration.feedback.conftest import intake_settings
from tests.integration.web.conftest import ViewsStack
from tests.integration.web.test_views_browser import screenshot
from tests.support.accessibility import axe_violations
from tests.support.browser import chromium, served
from tests.support.kafka import records_matching
from tests.support.servers import Servers
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
PHONE, DESKTOP = (390, 844), (1280, 900)
# What the page must never show: it is the client's view of the work, not a clinical dashboard.
CLINICAL_WORDS = ("rupture", "marker", "severity", "episode", "high", "medium", "baseline", "cutoff")


@dataclass(frozen=True)
class Intake:
    base_url: str
    ring: KeyRing

    def key_for(self, clinic_id: str) -> str:
        api_key = f"intake-{clinic_id}-{uuid.uuid4().hex[:8]}"
        self.ring.apply(hash_key(api_key), clinic_id, frozenset({Scope.INGEST}), revoked=False)
        return api_key


@pytest.fixture(scope="module")
def intake(views_stack: ViewsStack, servers: Servers) -> Iterator[Intake]:
    """The feedback intake served where the views stack's client pages send their answers."""
    settings = intake_settings(servers.kafka_bootstrap, servers.mongodb_uri, uuid.uuid4().hex[:10])
    settings = settings.model_copy(update={"public_url": views_stack.pages.intake_url})
    app = create_intake(settings, views_stack.pages)
    with served(app, urlsplit(views_stack.pages.intake_url).port) as base_url:
        yield Intake(base_url, app.state.key_ring)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium(console_log=True) as driver:
        yield driver


async def client_link(
    views_stack: ViewsStack, clinic_id: str, client_id: str, scope: Scope = Scope.INGEST
) -> str:
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        answer = await http.post(
            "/v1/client-links",
            json={"client_id": client_id},
            headers={"Authorization": f"Bearer {views_stack.key_for(clinic_id, scope)}"},
        )
    assert answer.status_code == 201, answer.text
    url: str = answer.json()["url"]
    return url


async def share_note(intake: Intake, clinic_id: str, client_id: str, session_id: str, text: str) -> str:
    note_id = f"n-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=intake.base_url) as http:
        answer = await http.post(
            "/v1/notes",
            json={
                "note_id": note_id,
                "session_id": session_id,
                "therapist_id": "t-demo-1",
                "client_id": client_id,
                "session_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                "text": text,
            },
            headers={"Authorization": f"Bearer {intake.key_for(clinic_id)}"},
        )
    assert answer.status_code == 202, answer.text
    return note_id


async def page_text(url: str) -> tuple[int, str]:
    async with httpx.AsyncClient() as http:
        answer = await http.get(url)
    return answer.status_code, answer.text


async def test_a_client_link_is_issued_for_a_client_of_the_callers_clinic_only(
    views_stack: ViewsStack,
) -> None:
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        body = {"client_id": "c-steady"}
        assert (await http.post("/v1/client-links", json=body)).status_code == 401
        reader = views_stack.key_for(views_stack.clinic, Scope.READ)
        read_only = await http.post(
            "/v1/client-links", json=body, headers={"Authorization": f"Bearer {reader}"}
        )
        assert read_only.status_code == 403
        only_in_b = {"client_id": "c-only-in-b"}
        key_a = views_stack.key_for(views_stack.clinic, Scope.INGEST)
        refused = await http.post(
            "/v1/client-links", json=only_in_b, headers={"Authorization": f"Bearer {key_a}"}
        )
        assert refused.status_code == 404
        issued = await http.post("/v1/client-links", json=body, headers={"Authorization": f"Bearer {key_a}"})
    assert issued.status_code == 201, issued.text
    expires_at = datetime.fromisoformat(issued.json()["expires_at"])
    assert timedelta(days=29, hours=23) < expires_at - datetime.now(UTC) <= timedelta(days=30)


async def test_the_page_shows_the_clients_own_totals_in_plain_words_and_nothing_clinical(
    views_stack: ViewsStack,
) -> None:
    # c-rupture-repair has an episode, markers and therapist ratings: none of it may reach the client's page.
    url = await client_link(views_stack, views_stack.clinic, "c-rupture-repair")
    status_code, html = await page_text(url)
    assert status_code == 200
    alliance = await views_stack.alliance(views_stack.clinic, "c-rupture-repair")
    client_srs = [
        r["total"]
        for s in alliance["sessions"]
        for r in s["ratings"]
        if (r["instrument"], r["respondent"]) == ("srs", "client")
    ]
    assert f"{client_srs[-1]:g} out of 40" in html and f"{client_srs[0]:g} out of 40" in html
    assert alliance["past_episodes"] or alliance["open_episode"], "the story needs an episode to hide"
    visible = html.lower()
    assert [word for word in CLINICAL_WORDS if re.search(rf"\b{word}\b", visible)] == []
    therapist_totals = {
        r["total"] for s in alliance["sessions"] for r in s["ratings"] if r["respondent"] == "therapist"
    }
    assert therapist_totals, "the story needs therapist ratings to hide"
    assert {f"{t:g} out of 40" for t in therapist_totals - set(client_srs)} & {
        line.strip() for line in visible.split("<strong>")
    } == set()
    assert views_stack.clinic not in html  # nor the clinic's or therapists' pseudonyms
    assert "t-demo-1" not in html


async def test_tampered_expired_and_foreign_links_are_refused(views_stack: ViewsStack) -> None:
    url = await client_link(views_stack, views_stack.clinic, "c-steady")
    base, token = url.rsplit("/", 1)
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    assert (await page_text(f"{base}/{flipped}"))[0] == 400
    # A link signed by another deployment, and a clinician's view link, open nothing here.
    other = ClientPages(ClientPageSettings(secret="another-deployment", page_url=base.rsplit("/c", 1)[0]))
    assert (await page_text(other.issue(views_stack.clinic, "c-steady")[1]))[0] == 400
    view_link = await views_stack.link(
        views_stack.clinic, view="client", therapist_id="t-demo-1", client_id="c-steady"
    )
    assert (await page_text(f"{base}/{view_link.rsplit('/', 1)[1]}"))[0] == 400
    # A link past its time.
    pages = ClientPages(views_stack.pages)
    expired = ClientPageLink(
        link_id="old",
        clinic_id=views_stack.clinic,
        client_id="c-steady",
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    status_code, html = await page_text(pages.page_url(pages.pages.seal(expired)))
    assert status_code == 410 and "expired" in html
    # A client of clinic B with the same id as one of A's: B's link shows B's numbers, never A's.
    b_url = await client_link(views_stack, views_stack.other_clinic, "c-steady")
    _, b_html = await page_text(b_url)
    _, a_html = await page_text(url)
    assert "30 out of 40" in b_html and b_html != a_html


def note_answers(records: list[Any], note_id: str) -> list[dict[str, Any]]:
    events = [json.loads(r.value) for r in records]
    return [
        e for e in events if e["type"] == "org.alliance.note.answered.v2" and e["data"]["note_id"] == note_id
    ]


async def test_a_client_answers_a_note_on_a_phone_and_the_page_passes_axe(
    views_stack: ViewsStack, intake: Intake, browser: webdriver.Chrome
) -> None:
    clinic, client = views_stack.clinic, "c-steady"
    mine = await share_note(
        intake, clinic, client, "s-note-1", "We worked on saying no at work.\nNext: practise once this week."
    )
    theirs = await share_note(intake, clinic, "c-steady-2", "s-note-2", "A note for someone else")
    url = await client_link(views_stack, clinic, client)

    async def note_shown() -> bool:
        return mine in (await page_text(url))[1]

    await eventually(note_shown, within=30, what="the shared note on the client's page")
    browser.set_window_size(*PHONE)
    browser.get(url)
    assert "A note for someone else" not in browser.page_source and theirs not in browser.page_source
    assert axe_violations(browser) == []
    screenshot(browser, "client-page.png", width=PHONE[0])

    note = browser.find_element(By.ID, f"note-{mine}")
    partly = note.find_element(By.XPATH, ".//label[normalize-space()='Partly']")
    partly.click()
    note.find_element(By.TAG_NAME, "textarea").send_keys("I would rather start with my family.")
    note.find_element(By.TAG_NAME, "button").click()
    WebDriverWait(browser, 15).until(lambda b: "answered=" in b.current_url)
    assert "Your answer was sent" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text

    records = await records_matching(
        views_stack.bootstrap,
        CLIENT_EVENTS.name,
        lambda r: mine.encode() in r.value and b"note.answered" in r.value,
        expected=1,
        within=60,
    )
    answers = note_answers(records, mine)
    assert len(answers) == 1
    answer = answers[0]
    assert (answer["data"]["fit"], answer["data"]["client_id"]) == ("partly", client)
    # The client's words left the intake sealed (docs/privacy.md).
    assert answer["data"]["comment"].startswith("aesgcm:")
    assert not any(b"I would rather start with my family." in r.value for r in records)
    assert answer["data"]["session_id"] == "s-note-1" and answer["clinicid"] == clinic

    async def answer_shown() -> bool:
        return "You answered: <strong>Partly</strong>" in (await page_text(url))[1]

    await eventually(answer_shown, within=30, what="the answer read back on the page")
    browser.refresh()
    assert axe_violations(browser) == []


async def test_the_page_on_a_desktop_by_keyboard_alone(
    views_stack: ViewsStack, intake: Intake, browser: webdriver.Chrome
) -> None:
    clinic, client = views_stack.clinic, "c-blind-spot"
    note_id = await share_note(
        intake, clinic, client, "s-note-3", "Next steps: one thing you enjoy, every day."
    )
    url = await client_link(views_stack, clinic, client, Scope.ADMIN)
    await eventually(lambda: _contains(url, note_id), within=30, what="the note on the page")
    browser.set_window_size(*DESKTOP)
    browser.get(url)
    assert axe_violations(browser) == []
    screenshot(browser, "client-page-desktop.png", width=DESKTOP[0])
    # Tab to the first answer, choose "No" with the arrow keys, and send with Enter.
    radio = browser.find_element(By.CSS_SELECTOR, f"#note-{note_id} input[value=yes]")
    radio.send_keys(Keys.SPACE)
    radio.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    chosen = browser.find_element(By.CSS_SELECTOR, f"#note-{note_id} input[name=fit]:checked")
    assert chosen.get_attribute("value") == "no"
    chosen.send_keys(Keys.ENTER)
    WebDriverWait(browser, 15).until(lambda b: "answered=" in b.current_url)
    records = await records_matching(
        views_stack.bootstrap,
        CLIENT_EVENTS.name,
        lambda r: note_id.encode() in r.value and b"note.answered" in r.value,
        expected=1,
        within=60,
    )
    assert [a["data"]["fit"] for a in note_answers(records, note_id)] == ["no"]


async def _contains(url: str, text: str) -> bool:
    return text in (await page_text(url))[1]


async def test_rating_the_latest_session_from_the_page(
    views_stack: ViewsStack, intake: Intake, browser: webdriver.Chrome
) -> None:
    clinic, client = views_stack.clinic, "c-steady-2"
    session_id = f"s-new-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=intake.base_url) as http:
        recorded = await http.post(
            "/v1/sessions",
            json={
                "session_id": session_id,
                "therapist_id": "t-demo-2",
                "client_id": client,
                "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
                "attendance": "attended",
                "scheduled_minutes": 50,
            },
            headers={"Authorization": f"Bearer {intake.key_for(clinic)}"},
        )
    assert recorded.status_code == 202, recorded.text
    url = await client_link(views_stack, clinic, client)

    async def applied() -> bool:  # until then the page offers the client's previous latest session
        alliance = await views_stack.alliance(clinic, client)
        return bool(alliance["sessions"][-1]["session_id"] == session_id)

    await eventually(applied, within=30, what="the new session in the client's history")
    assert await _contains(url, "Rate this session")
    browser.set_window_size(*PHONE)
    browser.get(url)
    browser.find_element(By.LINK_TEXT, "Rate this session").click()
    WebDriverWait(browser, 15).until(lambda b: "/f/" in b.current_url)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "thanks"))
    browser.find_element(By.LINK_TEXT, "Back to your page").click()
    WebDriverWait(browser, 15).until(lambda b: b.current_url == url)
    records = await records_matching(
        views_stack.bootstrap,
        CLIENT_EVENTS.name,
        lambda r: session_id.encode() in r.value and b"feedback.submitted" in r.value,
        expected=1,
        within=60,
    )
    assert [json.loads(r.value)["data"]["instrument"] for r in records] == ["srs"]
    await eventually(lambda: _contains(url, "You have rated it"), within=30, what="the rating read back")


async def test_the_intake_refuses_altered_expired_and_wrong_answers(
    views_stack: ViewsStack, intake: Intake
) -> None:
    pages = ClientPages(views_stack.pages)
    link, page_url = pages.issue(views_stack.clinic, "c-steady")
    ticket_url = pages.answer_url(
        link, page_url, note_id="n-x", session_id="s-x", therapist_id="t-demo-1", session_at=datetime.now(UTC)
    )
    async with httpx.AsyncClient() as http:
        altered = await http.post(ticket_url[:-4] + "AAAA", data={"fit": "yes"})
        assert altered.status_code == 400 and "not valid" in altered.text
        wrong = await http.post(ticket_url, data={"fit": "maybe"})
        assert wrong.status_code == 422 and "Choose yes, partly or no" in wrong.text
        assert f'href="{page_url}"' in wrong.text  # back to the page, to answer again
        too_long = await http.post(ticket_url, data={"fit": "no", "comment": "x" * 2001})
        assert too_long.status_code == 422
        old = link.model_copy(update={"expires_at": datetime.now(UTC) - timedelta(seconds=1)})
        expired_url = pages.answer_url(
            old,
            page_url,
            note_id="n-x",
            session_id="s-x",
            therapist_id="t-demo-1",
            session_at=datetime.now(UTC),
        )
        expired = await http.post(expired_url, data={"fit": "yes"})
        assert expired.status_code == 410
        # Sent twice (a double tap, a retry): two records of one event, which scoring applies once.
        first = await http.post(ticket_url, data={"fit": "yes"})
        second = await http.post(ticket_url, data={"fit": "yes"})
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == f"{page_url}?answered=n-x#note-n-x"
    records = await records_matching(
        views_stack.bootstrap,
        CLIENT_EVENTS.name,
        lambda r: b'"n-x"' in r.value and link.client_id.encode() in r.value and b"client-page" in r.value,
        expected=2,
        within=60,
    )
    assert len({json.loads(r.value)["id"] for r in records}) == 1


async def test_a_rating_link_from_the_page_rates_its_session_once(
    views_stack: ViewsStack, intake: Intake
) -> None:
    pages = ClientPages(views_stack.pages)
    link, page_url = pages.issue(views_stack.clinic, "c-steady")
    session_id = f"s-once-{uuid.uuid4().hex[:6]}"
    rate_url = pages.rating_url(
        link, page_url, session_id=session_id, therapist_id="t-demo-1", session_at=datetime.now(UTC)
    )
    async with httpx.AsyncClient() as http:
        assert (await http.get(rate_url[:-4] + "AAAA")).status_code == 400
        form_url = intake.base_url + (await http.get(rate_url)).headers["location"]
        ratings = {"relationship": "9", "goals": "9", "approach": "9", "overall": "9"}
        sent = await http.post(form_url, data=ratings)
        assert sent.status_code == 200 and "Back to your page" in sent.text
        # Opened again from the page, it is the same link: already used.
        again = intake.base_url + (await http.get(rate_url)).headers["location"]
        assert (await http.get(again)).status_code == 409


async def test_in_the_browser_a_tampered_link_and_another_clients_link_show_nothing(
    views_stack: ViewsStack, browser: webdriver.Chrome
) -> None:
    mine = await client_link(views_stack, views_stack.clinic, "c-steady")
    theirs = await client_link(views_stack, views_stack.clinic, "c-blind-spot")
    base, my_token = mine.rsplit("/", 1)
    their_payload = theirs.rsplit("/", 1)[1].rsplit(".", 1)[0]
    spliced = f"{base}/{their_payload}.{my_token.rsplit('.', 1)[1]}"  # their client, my signature
    flipped = f"{base}/{my_token[:-3]}{'A' if my_token[-3] != 'A' else 'B'}{my_token[-2:]}"
    browser.set_window_size(*PHONE)
    for url in (spliced, flipped):
        browser.get(url)
        assert browser.find_element(By.TAG_NAME, "h1").text == "This link is not valid"
        assert "out of 40" not in browser.page_source and "note" not in browser.page_source.lower()
        assert axe_violations(browser) == []
    browser.get(theirs)  # their own link still opens their page
    assert browser.find_element(By.TAG_NAME, "h1").text == "Your page"


GOAL_CHART = """
const chart = Chart.getChart(document.getElementById(arguments[0]));
return chart.data.datasets.map(d => ({label: d.label, data: d.data, dash: d.borderDash, marker: d.pointStyle}));
"""


async def rate_goals(
    intake: Intake,
    clinic_id: str,
    client_id: str,
    session_id: str,
    session_at: datetime,
    respondent: str,
    *ratings: int,
) -> None:
    """Goal ratings by slot (goal_1 first), as a portal or the therapist's system sends them to the intake."""
    async with httpx.AsyncClient(base_url=intake.base_url) as http:
        answer = await http.post(
            "/v1/feedback",
            json={
                "session_id": session_id,
                "therapist_id": "t-demo-1",
                "client_id": client_id,
                "session_at": session_at.isoformat(),
                "instrument": "gbo",
                "respondent": respondent,
                "items": {f"goal_{k}": value for k, value in enumerate(ratings, start=1)},
            },
            headers={"Authorization": f"Bearer {intake.key_for(clinic_id)}"},
        )
    assert answer.status_code == 202, answer.text


async def test_a_therapist_agrees_two_goals_sees_their_progress_and_the_client_sees_only_their_own_ratings(
    views_stack: ViewsStack, intake: Intake, browser: webdriver.Chrome
) -> None:
    clinic, client = views_stack.clinic, "c-stale"
    sleep, friends = "Sleep through most nights", "See a friend every week"
    browser.delete_all_cookies()
    browser.get_log("browser")  # type: ignore[no-untyped-call]  # reading empties it: only this test's entries stay
    browser.set_window_size(*DESKTOP)
    browser.get(await views_stack.link(clinic, view="client", client_id=client, therapist_id="t-demo-1"))
    WebDriverWait(browser, 15).until(
        lambda b: b.current_url.split("?")[0].endswith(f"/views/clients/{client}")
    )
    assert browser.find_element(By.ID, "no-goals").text == "No goals agreed yet."
    form = browser.find_element(By.ID, "agree-goals")
    agreed_in = form.find_element(By.ID, "goals-session").get_attribute("value") or ""  # the latest session
    form.find_element(By.ID, "goal-field-1").send_keys(sleep)
    form.find_element(By.ID, "goal-field-2").send_keys(friends)
    browser.find_element(By.ID, "agree-goals-button").click()
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "notice"))
    assert "The goals are agreed" in browser.find_element(By.ID, "notice").text

    async def goals_applied() -> bool:
        return len((await views_stack.alliance(clinic, client)).get("goals", [])) == 2

    await eventually(goals_applied, within=30, what="the agreed goals in the client's read model")
    # Ratings of both goals in the session they were agreed in and in a new one: the client's and the
    # therapist's, every therapist's rating a number the client never gave.
    sessions = (await views_stack.alliance(clinic, client))["sessions"]
    occurred: datetime = next(s["occurred_at"] for s in sessions if s["session_id"] == agreed_in)
    agreed_at = occurred if occurred.tzinfo else occurred.replace(tzinfo=UTC)  # as the database returns it
    later, later_at = f"s-goals-{uuid.uuid4().hex[:6]}", datetime.now(UTC) - timedelta(hours=1)
    await rate_goals(intake, clinic, client, agreed_in, agreed_at, "client", 2, 4)
    await rate_goals(intake, clinic, client, agreed_in, agreed_at, "therapist", 9, 1)
    await rate_goals(intake, clinic, client, later, later_at, "client", 5, 7)
    await rate_goals(intake, clinic, client, later, later_at, "therapist", 8, 3)

    async def rated() -> bool:
        goals = (await views_stack.alliance(clinic, client))["goals"]
        return [len(g["ratings"]) for g in goals] == [2, 2] and all(
            r["client"] is not None and r["therapist"] is not None for g in goals for r in g["ratings"]
        )

    await eventually(rated, within=30, what="both sides' ratings of both goals")
    browser.refresh()
    WebDriverWait(browser, 15).until(
        lambda b: b.execute_script(
            "return !!(window.Chart && Chart.getChart(document.getElementById('goal-chart-2')))"
        )
    )
    expected = {"goal-chart-1": ([2.0, 5.0], [9.0, 8.0]), "goal-chart-2": ([4.0, 7.0], [1.0, 3.0])}
    for canvas, (mine, theirs) in expected.items():
        client_line, therapist_line = browser.execute_script(GOAL_CHART, canvas)
        assert (client_line["label"], client_line["data"]) == ("Client's rating", mine)
        assert (therapist_line["label"], therapist_line["data"]) == ("Therapist's rating", theirs)
        # Told apart by more than colour: a dash and another marker.
        assert client_line["dash"] == [] and therapist_line["dash"] != []
        assert client_line["marker"] != therapist_line["marker"]
    texts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#goals .goal-text")]
    assert texts == [f"1. {sleep}", f"2. {friends}"]
    table = browser.find_elements(By.CSS_SELECTOR, "#goal-ratings-1 tbody tr")
    assert [
        (r.find_element(By.CSS_SELECTOR, ".client").text, r.find_element(By.CSS_SELECTOR, ".therapist").text)
        for r in table
    ] == [("2", "9"), ("5", "8")]
    problems = [
        entry["message"]
        for entry in browser.get_log("browser")  # type: ignore[no-untyped-call]
        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
    ]
    assert problems == []  # no script error, no content-security-policy violation
    assert axe_violations(browser) == []  # the clinician's view with its goal charts, forms and tables

    # The client's own page: their goals and their own ratings, in plain words; nothing of the therapist's.
    url = await client_link(views_stack, clinic, client)
    browser.set_window_size(*PHONE)
    browser.get(url)
    section = browser.find_element(By.ID, "your-goals")
    assert [h.text for h in section.find_elements(By.CSS_SELECTOR, "h3.goal-text")] == [sleep, friends]
    summaries = [p.text for p in section.find_elements(By.CSS_SELECTOR, "p.summary")]
    assert [s.split(" (")[0] for s in summaries] == [
        "Your latest rating: 5 out of 10",
        "Your latest rating: 7 out of 10",
    ]
    assert "The first time: 2 out of 10" in summaries[0] and "The first time: 4 out of 10" in summaries[1]
    assert len(section.find_elements(By.CSS_SELECTOR, "svg.line")) == 2
    page = browser.page_source
    assert [f"{n} out of 10" for n in (9, 8, 1, 3) if f"{n} out of 10" in page] == []
    assert "therapist's rating" not in page.lower()
    visible = section.text.lower()
    assert [word for word in CLINICAL_WORDS if re.search(rf"\b{word}\b", visible)] == []
    assert axe_violations(browser) == []
