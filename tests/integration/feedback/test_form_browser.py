"""A client fills the feedback form in a real headless Chromium, against the app served by uvicorn.

Chromium and chromedriver come from Debian (`make chromium`, a prerequisite of `make test`). The test also
writes docs/img/feedback-form.png, the screenshot the docs show.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from services.feedback.admin import issue_key
from services.feedback.app import create_app
from shared.auth import Scope
from tests.integration.feedback.conftest import intake_settings, opened
from tests.support.browser import chromium, served
from tests.support.kafka import records_matching
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "img" / "feedback-form.png"
# Keys pressed on each slider (0-10, step 0.1): End goes to 10, each Left takes 0.1 off.
PRESSES = {"relationship": 0, "goals": 5, "approach": 12, "overall": 20}
EXPECTED = {"relationship": 10.0, "goals": 9.5, "approach": 8.8, "overall": 8.0}


@asynccontextmanager
async def form_link(servers: Servers, unique: str) -> AsyncIterator[str]:
    """The intake served in this process, and an SRS link it issued for client ``c-<unique>`` of clinic
    ``clinic-<unique>``, for the time of the block."""
    settings = intake_settings(servers.kafka_bootstrap, servers.mongodb_uri, unique)
    api_key = f"key-{unique}-0123456789"
    await issue_key(settings, f"clinic-{unique}", api_key, frozenset({Scope.INGEST}))
    app = create_app(settings)
    with served(app) as base_url:
        app.state.settings = settings.model_copy(update={"public_url": base_url})
        async with httpx.AsyncClient(base_url=base_url) as http:
            issued = await http.post(
                "/v1/feedback-links",
                json={
                    "client_id": f"c-{unique}",
                    "therapist_id": "t-1",
                    "session_id": "s-1",
                    "session_at": "2026-11-20T10:00:00+00:00",
                },
                headers={"Authorization": f"Bearer {api_key}"},
            )
        assert issued.status_code == 201, issued.text
        yield str(issued.json()["url"])


def fill_and_submit(url: str) -> str:
    with chromium(window="412,1000") as browser:  # a phone's width: the form is mobile-first
        browser.get(url)
        for name, lefts in PRESSES.items():
            slider = browser.find_element(By.ID, name)
            slider.send_keys(Keys.END, *([Keys.ARROW_LEFT] * lefts))
        browser.find_element(By.ID, "comment").send_keys("The last ten minutes felt rushed.")
        shown = browser.find_element(By.ID, "approach-value").text
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.execute_cdp_cmd(  # the whole page, at a phone's width
            "Emulation.setDeviceMetricsOverride",
            {"width": 412, "height": int(height), "deviceScaleFactor": 1, "mobile": True},
        )
        browser.save_screenshot(str(SCREENSHOT))
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.ID, "thanks")))
        return shown


async def test_a_client_rates_the_session_in_a_real_browser(servers: Servers, unique: str) -> None:
    client_id, clinic_id = f"c-{unique}", f"clinic-{unique}"
    async with form_link(servers, unique) as url:
        shown = await asyncio.to_thread(fill_and_submit, url)

    assert shown == "8.8"  # the slider's number, shown as it moves
    records = await records_matching(
        servers.kafka_bootstrap,
        "client.events",
        lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
        expected=1,
        settle=0.5,
    )
    assert len(records) == 1
    event = json.loads(records[0].value)
    assert event["clinicid"] == clinic_id
    assert event["data"]["respondent"] == "client"
    assert event["data"]["items"] == EXPECTED
    assert b"The last ten minutes" not in records[0].value  # sealed
    settings = intake_settings(servers.kafka_bootstrap, servers.mongodb_uri, unique)
    comment = await opened(settings, clinic_id, client_id, event["data"]["comment"])
    assert comment == "The last ten minutes felt rushed."
    assert SCREENSHOT.stat().st_size > 10_000


REPORT_SCREENSHOT = SCREENSHOT.with_name("feedback-form-rupture.png")


def report_tension(url: str) -> dict[str, bool]:
    """Answer the rupture questions as a client would, noting when the follow-ups are on screen."""
    seen: dict[str, bool] = {}
    with chromium(window="412,1000") as browser:
        browser.get(url)

        def follow_ups_shown() -> bool:
            return bool(browser.find_element(By.ID, "report-follow-ups").is_displayed())

        def choose(radio: str) -> None:
            browser.find_element(By.CSS_SELECTOR, f"label[for='{radio}']").click()

        seen["at first"] = follow_ups_shown()
        choose("psq_tension-1")
        seen["after yes"] = follow_ups_shown()
        choose("psq_tension-0")
        seen["after no"] = follow_ups_shown()
        choose("psq_tension-1")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()  # yes, but no follow-up
        WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.ID, "problems")))
        seen["refused without follow-ups"] = (
            "How much did it bother you?" in browser.find_element(By.ID, "problems").text
        )
        seen["yes kept after refusal"] = follow_ups_shown()
        choose("psq_intensity-4")
        choose("psq_resolution-2")
        report = browser.find_element(By.CSS_SELECTOR, "fieldset.report")
        browser.execute_script("arguments[0].scrollIntoView()", report)
        report.screenshot(str(REPORT_SCREENSHOT))
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.ID, "thanks")))
    return seen


async def test_the_rupture_questions_ask_the_follow_ups_only_after_a_yes(
    servers: Servers, unique: str
) -> None:
    client_id = f"c-{unique}"
    async with form_link(servers, unique) as url:
        seen = await asyncio.to_thread(report_tension, url)

    assert seen == {
        "at first": False,
        "after yes": True,
        "after no": False,
        "refused without follow-ups": True,
        "yes kept after refusal": True,
    }
    records = await records_matching(
        servers.kafka_bootstrap,
        "client.events",
        lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
        expected=2,
        settle=0.5,
    )
    in_order = [json.loads(r.value)["data"] for r in sorted(records, key=lambda r: (r.partition, r.offset))]
    by_instrument = {data["instrument"]: data for data in in_order}
    assert set(by_instrument) == {"srs", "psq"}
    # One client, one partition: the report first, so no SRS can repair an episode the report then undoes.
    assert len({r.partition for r in records}) == 1
    assert [data["instrument"] for data in in_order] == ["psq", "srs"]
    assert by_instrument["psq"]["items"] == {"tension": 1, "intensity": 4, "resolution": 2}
    assert by_instrument["psq"]["session_id"] == by_instrument["srs"]["session_id"] == "s-1"
    assert REPORT_SCREENSHOT.stat().st_size > 5_000
