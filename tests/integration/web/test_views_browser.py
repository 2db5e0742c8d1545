"""The three clinician views in a real headless Chromium, against the scoring app served by uvicorn on the real
servers: what each chart draws is read back from Chart.js and compared with the stored history; the buttons'
events are read back from Kafka. The tests also write the screenshots the docs show (docs/img/*-view.png).
"""

import json
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from services.scoring.domain import Thresholds
from services.scoring.web.actions import acknowledgement_id
from shared.auth import Scope
from shared.contracts import RUPTURE_ACKNOWLEDGED, RUPTURE_RESOLVED
from tests.integration.web.conftest import ViewsStack
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration
DOCS_IMG = Path(__file__).resolve().parents[3] / "docs" / "img"
CHART_DATASETS = """
const chart = Chart.getChart(document.getElementById(arguments[0]));
return chart.data.datasets.map((d, i) => ({label: d.label, data: d.data, visible: chart.isDatasetVisible(i)}));
"""


def wait_for_chart(browser: webdriver.Chrome, canvas_id: str) -> list[dict[str, Any]]:
    WebDriverWait(browser, 15).until(
        lambda b: b.execute_script(
            f"return !!(window.Chart && Chart.getChart(document.getElementById('{canvas_id}')))"
        )
    )
    datasets: list[dict[str, Any]] = browser.execute_script(CHART_DATASETS, canvas_id)
    return datasets


def dataset(datasets: list[dict[str, Any]], label: str) -> dict[str, Any]:
    return next(d for d in datasets if d["label"] == label)


def ys(found: dict[str, Any]) -> list[float | None]:
    return [point["y"] for point in found["data"]]


def screenshot(browser: webdriver.Chrome, name: str, width: int = 1280) -> None:
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": int(height), "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        browser.save_screenshot(str(DOCS_IMG / name))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def rating(session: dict[str, Any], instrument: str, respondent: str) -> float | None:
    return next(
        (
            r["total"]
            for r in session["ratings"]
            if (r["instrument"], r["respondent"]) == (instrument, respondent)
        ),
        None,
    )


def open_link(browser: webdriver.Chrome, url: str, expect_path: str) -> None:
    browser.get(url)
    WebDriverWait(browser, 15).until(lambda b: b.current_url.split("?")[0].endswith(expect_path))


async def test_the_client_view_draws_the_stored_history(
    views_stack: ViewsStack, fresh_browser: webdriver.Chrome
) -> None:
    browser, clinic = fresh_browser, views_stack.clinic
    url = await views_stack.link(clinic, view="client", client_id="c-rupture-repair", therapist_id="t-demo-1")
    open_link(browser, url, "/views/clients/c-rupture-repair")
    datasets = wait_for_chart(browser, "alliance-chart")
    stored = await views_stack.alliance(clinic, "c-rupture-repair")
    sessions = stored["sessions"]

    assert ys(dataset(datasets, "Client SRS total")) == [s["srs_total"] for s in sessions]
    assert ys(dataset(datasets, "Therapist SRS total")) == [rating(s, "srs", "therapist") for s in sessions]
    assert ys(dataset(datasets, "Client ORS total (right axis)")) == [
        rating(s, "ors", "client") for s in sessions
    ]
    assert ys(dataset(datasets, "Cutoff")) == [float(Thresholds().srs_cutoff)] * 2  # the clinic's: defaults
    markers = dataset(datasets, "Markers")["data"]
    assert [m["x"] for m in markers] == [i for i, s in enumerate(sessions) if s["markers"]]
    assert markers[0]["codes"] == [m["code"] for m in sessions[4]["markers"]]
    # The own baseline band: around each session's stored baseline, once two earlier totals exist.
    high, low = ys(dataset(datasets, "Own baseline band")), ys(dataset(datasets, "baseline band low"))
    for session, top, bottom in zip(sessions, high, low, strict=True):
        if top is not None and bottom is not None:
            assert session["baseline"] == pytest.approx((top + bottom) / 2, abs=0.01)
    assert sum(top is not None for top in high) == 8
    # The repaired episode, shaded from its opening session to the repairing one.
    chart_data = json.loads(browser.find_element(By.ID, "chart-data").get_attribute("textContent") or "{}")
    (episode,) = stored["past_episodes"]
    assert chart_data["episodes"] == [
        {
            "rupture_id": episode["rupture_id"],
            "start": 4,
            "end": 6,
            "open": False,
            "how": "repaired",
            "stale": False,
            "severity": episode["severity"],
            "from_history": False,
        }
    ]
    assert episode["resolution"]["sessions_to_repair"] == 2
    # The four items on demand, with the keyboard.
    items = [d for d in datasets if d["label"].startswith("SRS item: ")]
    assert len(items) == 4 and not any(d["visible"] for d in items)
    toggle = browser.find_element(By.ID, "show-items")
    toggle.send_keys(Keys.SPACE)
    items = [d for d in wait_for_chart(browser, "alliance-chart") if d["label"].startswith("SRS item: ")]
    assert all(d["visible"] for d in items)
    relationship = next(d for d in items if d["label"] == "SRS item: relationship")
    assert ys(relationship) == [
        next(
            r["items"]["relationship"]
            for r in s["ratings"]
            if r["instrument"] == "srs" and r["respondent"] == "client"
        )
        for s in sessions
    ]
    # No script error and no content-security-policy violation on the way.
    problems = [
        entry["message"]
        for entry in browser.get_log("browser")  # type: ignore[no-untyped-call]
        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
    ]
    assert problems == []
    # The data table alternative has every session, and the page fits a phone's width.
    rows = browser.find_elements(By.CSS_SELECTOR, "#sessions-table tbody tr")
    assert [r.get_attribute("data-session-id") for r in rows] == [s["session_id"] for s in sessions]
    browser.set_window_size(412, 900)
    # The chart redraws its canvas for the new width from a resize observer, a moment after the resize: the
    # page must come to fit within seconds (until then the canvas keeps its desktop width).
    width = "return document.documentElement.scrollWidth"
    try:
        WebDriverWait(browser, 10).until(lambda b: b.execute_script(width) <= 412)
    except TimeoutException:
        pytest.fail(f"the page is {browser.execute_script(width)} px wide on a 412 px phone")
    # The view was audited, with who looked.
    audit = await views_stack.db["scoring_audit"].find_one(
        {"clinic_id": clinic, "route": "GET /views/clients/{client_id}", "client_ids": "c-rupture-repair"}
    )
    assert audit is not None and audit["actor"] == "therapist:t-demo-1" and audit["found"] is True


async def test_the_caseload_view_orders_clients_by_need(
    views_stack: ViewsStack, fresh_browser: webdriver.Chrome
) -> None:
    browser, clinic = fresh_browser, views_stack.clinic
    url = await views_stack.link(clinic, view="caseload", therapist_id="t-demo-1")
    open_link(browser, url, "/views/caseload/t-demo-1")
    rows = browser.find_elements(By.CSS_SELECTOR, "#caseload tbody tr")
    order = [r.get_attribute("data-client-id") for r in rows]
    assert set(order) == {"c-rupture-repair", "c-stale", "c-steady"}
    # An open episode first (unless an earlier test resolved it); among the rest, the steeper decline first.
    stale = await views_stack.alliance(clinic, "c-stale")
    if stale["open_episode"] is not None:
        assert order[0] == "c-stale"
    for row in rows:
        client_id = row.get_attribute("data-client-id") or ""
        stored = await views_stack.alliance(clinic, client_id)
        spark = row.find_element(By.CSS_SELECTOR, "svg.spark")
        totals = [float(t) for t in (spark.get_attribute("data-totals") or "").split(",")]
        assert totals == [s["srs_total"] for s in stored["sessions"] if s["srs_total"] is not None]
        assert (
            row.find_elements(By.CSS_SELECTOR, "td")[2].text == f"{stored['summary']['latest_srs_total']:.1f}"
        )
    screenshot(browser, "caseload-view.png")
    # From the caseload, a client of it opens; a client of another therapist does not.
    browser.find_element(By.LINK_TEXT, "c-steady").click()
    WebDriverWait(browser, 15).until(lambda b: b.current_url.endswith("/views/clients/c-steady"))
    wait_for_chart(browser, "alliance-chart")
    browser.get(f"{views_stack.base_url}/views/clients/c-blind-spot")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not found"


async def test_a_supervisor_signs_in_to_the_clinic_view(
    views_stack: ViewsStack, fresh_browser: webdriver.Chrome
) -> None:
    browser, clinic = fresh_browser, views_stack.clinic
    browser.get(f"{views_stack.base_url}/views/clinic")  # no session: to the sign-in form
    WebDriverWait(browser, 15).until(lambda b: b.current_url.endswith("/views/sign-in"))
    browser.find_element(By.ID, "your_id").send_keys("sup-1")
    browser.find_element(By.ID, "api_key").send_keys(views_stack.key_for(clinic, Scope.INGEST))
    browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "sign-in-error"))
    assert "lacks the 'read' scope" in browser.find_element(By.ID, "sign-in-error").text

    browser.find_element(By.ID, "your_id").send_keys("sup-1")
    browser.find_element(By.ID, "api_key").send_keys(views_stack.key_for(clinic, Scope.READ), Keys.ENTER)
    WebDriverWait(browser, 15).until(lambda b: b.current_url.endswith("/views/clinic"))
    cookie = browser.get_cookie("alliance_view")
    assert cookie is not None and cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"

    assert browser.find_element(By.ID, "active-clients").text == "5"
    stored = [await views_stack.alliance(clinic, c) for c in ("c-stale", "c-blind-spot", "c-rupture-repair")]
    open_now = sum(a["open_episode"] is not None for a in stored)
    assert browser.find_element(By.ID, "open-share").text == f"{open_now / 5 * 100:.0f} %"
    assert browser.find_element(By.ID, "median-repair").text == "2.0"
    # The clinic's own alert rate beside the budget: 4 alerts announced live in 50 sessions.
    assert browser.find_element(By.ID, "alert-rate").text == "0.080"
    assert browser.find_element(By.ID, "alert-budget").text == "0.06"
    assert browser.find_element(By.ID, "budget-note").text.startswith("above the budget")
    listed = [
        r.get_attribute("data-client-id")
        for r in browser.find_elements(By.CSS_SELECTOR, "#open-episodes tbody tr")
    ]
    assert set(listed) == {a["client_id"] for a in stored if a["open_episode"] is not None}
    assert "c-blind-spot" in listed
    datasets = wait_for_chart(browser, "clinic-chart")
    shares = dict(
        zip(
            ["t-demo-1", "t-demo-2"], dataset(datasets, "Share with an open episode (%)")["data"], strict=True
        )
    )
    assert shares["t-demo-2"] == 50.0  # c-blind-spot open, c-steady-2 not
    assert dataset(datasets, "One-in-ten guide (%)")["data"] == [10.0, 10.0]
    screenshot(browser, "clinic-view.png")
    # The supervisor reaches every client of the clinic, and only of this clinic.
    browser.find_element(By.LINK_TEXT, "c-blind-spot").click()
    wait_for_chart(browser, "alliance-chart")
    assert browser.find_element(By.ID, "client-id").text == "c-blind-spot"
    browser.get(f"{views_stack.base_url}/views/clients/c-only-in-b")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not found"


async def test_acknowledge_and_resolve_from_the_client_view(
    views_stack: ViewsStack, fresh_browser: webdriver.Chrome
) -> None:
    browser, clinic = fresh_browser, views_stack.clinic
    stored = await views_stack.alliance(clinic, "c-stale")
    rupture_id = stored["open_episode"]["rupture_id"]
    assert stored["open_episode"]["stale"] is True
    url = await views_stack.link(clinic, view="client", client_id="c-stale", therapist_id="t-demo-1")
    open_link(browser, url, "/views/clients/c-stale")
    wait_for_chart(browser, "alliance-chart")

    browser.find_element(By.ID, "acknowledge").click()
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "notice"))
    assert "Acknowledgement sent" in browser.find_element(By.ID, "notice").text
    event_id = acknowledgement_id(clinic, rupture_id)
    acknowledged = await records_matching(
        views_stack.bootstrap,
        RUPTURE_ACKNOWLEDGED.topic.name,
        lambda r: json.loads(r.value)["id"] == event_id,
        expected=1,
        within=20,
    )
    assert len(acknowledged) == 1
    data = json.loads(acknowledged[0].value)["data"]
    assert (data["rupture_id"], data["client_id"], data["acknowledged_by"]) == (
        rupture_id,
        "c-stale",
        "t-demo-1",
    )

    # Scoring applies its own event from Kafka: the acknowledgement appears on the page and the chart.
    def shown(b: webdriver.Chrome) -> bool:
        b.refresh()
        return bool(b.find_elements(By.ID, "acknowledged"))

    WebDriverWait(browser, 30, poll_frequency=0.5).until(shown)
    acks = dataset(wait_for_chart(browser, "alliance-chart"), "Acknowledged")["data"]
    assert [a["by"] for a in acks] == ["t-demo-1"]
    assert not browser.find_elements(By.ID, "acknowledge")  # nothing left to acknowledge
    browser.get(f"{views_stack.base_url}/views/clients/c-stale")
    wait_for_chart(browser, "alliance-chart")
    screenshot(browser, "client-view.png")

    browser.find_element(By.ID, "note").send_keys("Talked the rupture through in session; agreed new goals.")
    browser.find_element(By.ID, "resolve").click()
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "notice"))
    assert "resolved by hand" in browser.find_element(By.ID, "notice").text
    resolved = await records_matching(
        views_stack.bootstrap,
        RUPTURE_RESOLVED.topic.name,
        lambda r: json.loads(r.value)["data"]["rupture_id"] == rupture_id,
        expected=1,
        within=20,
    )
    assert [json.loads(r.value)["data"]["how"] for r in resolved] == ["manual"]
    assert json.loads(resolved[0].value)["data"]["resolved_by"] == "t-demo-1"
    past = browser.find_element(By.CSS_SELECTOR, f"#past-episodes tr[data-rupture-id='{rupture_id}'] .how")
    assert past.text == "by hand (t-demo-1)"
    manual = dataset(wait_for_chart(browser, "alliance-chart"), "Resolved by hand")["data"]
    assert [m["rupture_id"] for m in manual] == [rupture_id]


async def test_one_clinics_link_never_shows_another_clinics_data(
    views_stack: ViewsStack, fresh_browser: webdriver.Chrome
) -> None:
    browser = fresh_browser
    # Clinic B's link to its c-steady shows B's numbers, never A's client of the same id.
    url = await views_stack.link(
        views_stack.other_clinic, view="client", client_id="c-steady", therapist_id="t-demo-1"
    )
    open_link(browser, url, "/views/clients/c-steady")
    client_srs = ys(dataset(wait_for_chart(browser, "alliance-chart"), "Client SRS total"))
    assert client_srs == [30.0] * 10
    # With B's session, A's clients and A's views are 404, like what does not exist.
    for path in ("/views/clients/c-stale", "/views/caseload/t-demo-2", "/views/clients/c-nobody"):
        browser.get(f"{views_stack.base_url}{path}")
        assert browser.find_element(By.TAG_NAME, "h1").text == "Not found", path
    # A link whose signature does not match (another secret, or tampered) opens nothing.
    token = url.rsplit("/", 1)[1]
    middle = len(token) - 10
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    browser.get(f"{views_stack.base_url}/views/links/{tampered}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not found"


def sign_in_supervisor(browser: webdriver.Chrome, views_stack: ViewsStack, clinic: str) -> None:
    browser.get(f"{views_stack.base_url}/views/sign-in")
    browser.find_element(By.ID, "your_id").send_keys("sup-1")
    browser.find_element(By.ID, "api_key").send_keys(views_stack.key_for(clinic, Scope.READ), Keys.ENTER)
    WebDriverWait(browser, 15).until(lambda b: b.current_url.endswith("/views/clinic"))


def repair_row(browser: webdriver.Chrome, tag: str) -> dict[str, str]:
    row = browser.find_element(By.CSS_SELECTOR, f"table.repairs tr[data-tag='{tag}']")
    return {c.get_attribute("class") or "": c.text for c in row.find_elements(By.TAG_NAME, "td")}


async def test_a_tagged_acknowledgement_changes_the_clinic_views_repair_table(
    views_stack: ViewsStack, fresh_browser: webdriver.Chrome
) -> None:
    browser, clinic = fresh_browser, views_stack.imported_clinic
    stored = await views_stack.alliance(clinic, "c-stale")
    rupture_id = stored["open_episode"]["rupture_id"]
    sign_in_supervisor(browser, views_stack, clinic)
    before = {tag: repair_row(browser, tag) for tag in ("withdrawal", "invite_discussion", "redirect")}
    assert (
        before["withdrawal"]["num episodes"] == "0"
        and before["withdrawal"]["too-few"] == "too few to compare"
    )

    url = await views_stack.link(clinic, view="client", client_id="c-stale", therapist_id="t-demo-1")
    open_link(browser, url, "/views/clients/c-stale")
    form = browser.find_element(By.CSS_SELECTOR, "form:has(#acknowledge)")
    form.find_element(By.TAG_NAME, "summary").click()
    form.find_element(By.CSS_SELECTOR, "input[name=rupture_type][value=withdrawal]").click()
    form.find_element(By.CSS_SELECTOR, "input[name=strategies][value=invite_discussion]").click()
    browser.find_element(By.ID, "acknowledge").click()
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "notice"))
    acknowledged = await records_matching(
        views_stack.bootstrap,
        RUPTURE_ACKNOWLEDGED.topic.name,
        lambda r: json.loads(r.value)["id"] == acknowledgement_id(clinic, rupture_id),
        expected=1,
        within=30,
    )
    data = json.loads(acknowledged[0].value)
    assert data["type"] == "org.alliance.rupture.acknowledged.v2"
    assert (data["data"]["rupture_type"], data["data"]["strategies"], data["data"]["via"]) == (
        "withdrawal",
        ["invite_discussion"],
        "view",
    )

    def named(b: webdriver.Chrome) -> bool:  # scoring applies its own event from Kafka
        b.refresh()
        return bool(b.find_elements(By.ID, "episode-tags"))

    WebDriverWait(browser, 30, poll_frequency=0.5).until(named)
    assert "withdrawal" in browser.find_element(By.ID, "episode-tags").text
    sign_in_supervisor(browser, views_stack, clinic)
    after = {tag: repair_row(browser, tag) for tag in before}
    assert int(after["withdrawal"]["num episodes"]) == int(before["withdrawal"]["num episodes"]) + 1
    assert (
        int(after["invite_discussion"]["num episodes"])
        == int(before["invite_discussion"]["num episodes"]) + 1
    )
    assert after["redirect"] == before["redirect"]  # a strategy not named is unchanged
