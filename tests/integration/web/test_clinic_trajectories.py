"""The clinic view's "Expected change by intake band", on the served scoring app: each band's curve at a few
sessions with its lower limit, whose curve it is and how many clients it rests on, the model's version and fit
date, and, for a band without a curve, why only ors_deterioration applies there."""

import html
import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from pymongo.asynchronous.client_session import AsyncClientSession
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from services.scoring.app import SETTINGS
from services.scoring.clinic_settings import ClinicSettingsStore
from services.scoring.domain import Thresholds
from services.scoring.domain.trajectories import IntakeBand
from services.scoring.trajectory_models import MODELS, FittedModel, TrajectoryModels, fitted_model
from shared import mongo
from shared.auth import Scope
from tests.integration.web.conftest import ViewsStack
from tests.integration.web.test_views_http import signed_in_supervisor, text_of
from tests.support.accessibility import axe_violations
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def clients(count: int, intake: float, gain: float) -> list[list[float]]:
    gains = [gain - 1 + 2 * i / (count - 1) for i in range(count)]
    return [[intake + b * math.log(t) for t in range(1, 9)] for b in gains]


@dataclass(frozen=True)
class Fitted:
    clinic: FittedModel  # views_stack.clinic's own: a curve for 15-19.9 only; 12 clients of 20-24.9
    platform: FittedModel  # all clinics: 15-19.9 and 20-24.9


@pytest.fixture(scope="module")
async def fitted(views_stack: ViewsStack) -> AsyncIterator[Fitted]:
    store = TrajectoryModels(views_stack.db[MODELS])

    async def fitted_at_start() -> bool:
        return await store.latest_platform_fit() is not None

    # The app fitted the seeded demo clinics at start (too few clients for any curve); these come later.
    await eventually(fitted_at_start, what="the fit at start-up")
    at = datetime.now(UTC)
    own = clients(40, 17.0, 4.0) + clients(12, 22.0, 2.0)
    models = Fitted(
        fitted_model(views_stack.clinic, at, own),
        fitted_model(None, at, own + clients(40, 17.0, 3.0) + clients(30, 22.0, 2.5)),
    )

    async def work(session: AsyncClientSession) -> None:
        await store.store(models.clinic, session)
        await store.store(models.platform, session)

    await mongo.in_transaction(views_stack.db.client, work)
    # The clinic's own margin below the fitted quartile, which its view must use (the other clinic's: default).
    await ClinicSettingsStore(views_stack.db[SETTINGS]).replace(
        views_stack.clinic, {"not_on_track_margin": 1.0}, "t"
    )
    yield models


def row(page: str, band: str) -> str:
    match = re.search(rf'<tr data-band="{re.escape(html.escape(band))}">(.*?)</tr>', page, re.S)
    assert match is not None, band
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split()))


async def test_each_band_shows_its_curve_whose_it_is_or_why_it_has_none(
    views_stack: ViewsStack, fitted: Fitted
) -> None:
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        await signed_in_supervisor(views_stack, http, views_stack.clinic)
        page = (await http.get("/views/clinic")).text
        await signed_in_supervisor(views_stack, http, views_stack.other_clinic)
        other = (await http.get("/views/clinic")).text

    assert "Expected change by intake band" in page
    own = fitted.clinic.curve(IntakeBand.FROM_15)
    assert own is not None
    # Each lower limit as not_on_track judges it: the clinic's margin below the fitted 25th percentile.
    margin = 1.0
    assert text_of(page, "trajectory-margin") == "1.0"
    points = " ".join(
        f"{own.expected(t):+.2f} ({round(own.lower_limit(t) - margin, 2):+.2f})" for t in (3, 5, 8, 12, 20)
    )
    fit_date = fitted.clinic.fitted_at.strftime("%Y-%m-%d %H:%M")
    assert (
        row(page, "15-19.9")
        == f"15-19.9 {points} 40 this clinic {fitted.clinic.version} fitted {fit_date} UTC"
    )
    platform = fitted.platform.curve(IntakeBand.FROM_20)
    assert platform is not None and platform.clients == 42
    assert row(page, "20-24.9").startswith(
        f"20-24.9 {platform.expected(3):+.2f} ({round(platform.lower_limit(3) - margin, 2):+.2f})"
    )
    assert f" 42 (12 here) all clinics {fitted.platform.version} " in row(page, "20-24.9")
    assert row(page, "<10") == (
        "<10 fewer than 30 clients with 4 ORS: only ors_deterioration applies (0 such clients here)"
    )
    assert fitted.clinic.version in page and "on 52 clients with an ORS" in page

    # Another clinic, with too few clients of its own in every band, is judged by the platform's curves where
    # they exist, with its own (the default) margin, and by ors_deterioration alone elsewhere (its one client
    # of intake 30 included).
    default = float(Thresholds().not_on_track_margin)
    assert text_of(other, "trajectory-margin") == f"{default:.1f}" and default != margin
    shared = fitted.platform.curve(IntakeBand.FROM_15)
    assert shared is not None
    assert row(other, "15-19.9").startswith(
        f"15-19.9 {shared.expected(3):+.2f} ({round(shared.lower_limit(3) - default, 2):+.2f})"
    )
    assert "this clinic" not in row(other, "15-19.9") and "all clinics" in row(other, "15-19.9")
    assert row(other, "25+") == (
        "25+ fewer than 30 clients with 4 ORS: only ors_deterioration applies (1 such client here)"
    )


async def test_the_section_reads_well_in_a_browser(
    views_stack: ViewsStack, fitted: Fitted, fresh_browser: webdriver.Chrome
) -> None:
    browser = fresh_browser
    browser.get(f"{views_stack.base_url}/views/clinic")
    WebDriverWait(browser, 15).until(lambda b: b.current_url.endswith("/views/sign-in"))
    browser.find_element(By.ID, "your_id").send_keys("sup-1")
    browser.find_element(By.ID, "api_key").send_keys(
        views_stack.key_for(views_stack.clinic, Scope.READ), Keys.ENTER
    )
    WebDriverWait(browser, 15).until(lambda b: b.current_url.endswith("/views/clinic"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#trajectories tbody tr")
    assert [r.get_attribute("data-band") for r in rows] == [band.value for band in IntakeBand]
    assert browser.find_element(By.ID, "clinic-model").text == fitted.clinic.version
    assert axe_violations(browser) == []
