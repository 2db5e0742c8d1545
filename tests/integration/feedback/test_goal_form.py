"""The gbo form behind a signed link: the client's own goals, read by feedback from client.events into its
MongoDB, each rated 0-10, submitted as a gbo rating of exactly the active slots."""

import asyncio
import html
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from markupsafe import escape
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from services.feedback.admin import issue_key
from services.feedback.app import create_app
from services.feedback.goals import GoalStore
from shared import topics
from shared.auth import Scope
from shared.contracts import GOAL_CLOSED, GOALS_AGREED, Goal, GoalClosedV1, GoalsAgreedV1, encode
from tests.integration.feedback.conftest import Intake, ServiceLog, intake_settings, start_goals_at_end
from tests.integration.feedback.payloads import goal_closing, goals
from tests.integration.feedback.test_links import issue
from tests.support.accessibility import axe_violations
from tests.support.browser import chromium, served
from tests.support.kafka import records_matching
from tests.support.servers import Servers
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
# Joining a fresh consumer group, then a fetch that waits up to a second: a goal reaches the form within seconds.
WITHIN = 30.0
SLIDER = re.compile(r'<input type="range" id="(goal_\d)" name="goal_\d" min="0" max="10" step="1"')


def shown(text: str) -> str:
    """``text`` as the page's templates write it."""
    return str(escape(text))


def sliders(page: str) -> list[str]:
    return SLIDER.findall(page)


def shown_goals(page: str) -> str:
    found = re.search(r'name="goals_shown" value="([^"]*)"', page)
    assert found, "the form names no goals it showed"
    return html.unescape(found.group(1))


async def form_showing(http: httpx.AsyncClient, path: str, *texts: str) -> str:
    """The form at ``path`` once it shows every one of ``texts`` (feedback applies goals asynchronously)."""
    page = ""

    async def shows_them() -> bool:
        nonlocal page
        answer = await http.get(path)
        assert answer.status_code == 200, answer.text
        page = answer.text
        return all(shown(text) in page for text in texts)

    await eventually(shows_them, within=WITHIN, what=f"the form showing {len(texts)} goal texts")
    return page


async def ratings_of(
    bootstrap: str, client_id: str, expected: int = 1, settle: float = 1.0
) -> list[dict[str, Any]]:
    records = await records_matching(
        bootstrap,
        "client.events",
        lambda r: (
            json.loads(r.value)["type"] == "org.alliance.feedback.submitted.v2"
            and json.loads(r.value)["data"]["client_id"] == client_id
        ),
        expected=expected,
        settle=settle,
    )
    return [json.loads(record.value) for record in records]


async def agree(intake: Intake, body: dict[str, Any], path: str = "/v1/goals") -> None:
    answer = await intake.http.post(path, json=body, headers=intake.auth)
    assert answer.status_code == 202, answer.text


async def test_a_client_rates_their_own_goals_and_the_rating_names_their_slots(
    intake: Intake, unique: str, service_log: ServiceLog
) -> None:
    client_id = f"c-{unique}"
    texts = (
        f"Sleep through most nights {unique}",
        "Tell my manager <when> it's too much",
        "Play football again",
    )
    await agree(intake, goals(client_id, *texts))
    path = await issue(intake, client_id, instrument="gbo")

    page = await form_showing(intake.http, path, *texts)
    assert sliders(page) == ["goal_1", "goal_2", "goal_3"]
    for slot, text in enumerate(texts, start=1):  # each goal labels its own slider, escaped
        assert f'<label for="goal_{slot}">{shown(text)}<output' in page
    assert "<fieldset>" in page and "<legend" in page and "Your goals, each from 0 to 10" in page
    assert page.count("0: Not at all met") == page.count("10: Fully met") == 3
    assert 'name="psq_tension"' not in page  # the rupture questions belong to the SRS form

    answers = {"goal_1": "3", "goal_2": "8", "goal_3": "0", "goals_shown": shown_goals(page)}
    thanks = await intake.http.post(path, data=answers)
    assert thanks.status_code == 200, thanks.text
    assert "Thank you" in thanks.text

    [rating] = await ratings_of(intake.kafka_bootstrap, client_id)
    assert rating["clinicid"] == intake.clinic_id
    assert rating["source"] == f"/clinics/{intake.clinic_id}/feedback-link"
    data = rating["data"]
    assert (data["instrument"], data["respondent"], data["session_id"]) == ("gbo", "client", "s-1")
    assert data["items"] == {"goal_1": 3, "goal_2": 8, "goal_3": 0}
    assert (await intake.http.post(path, data=answers)).status_code == 409  # used once, like every link

    # The consumer logged what it did, by counts; the client's words appear in no line of the service's log.
    assert '"goals recorded"' in service_log.text
    for text in texts:
        assert text not in service_log.text and shown(text) not in service_log.text


async def test_a_closed_goal_leaves_its_slot_out_of_later_forms(intake: Intake, unique: str) -> None:
    client_id = f"c-{unique}"
    texts = (f"First goal {unique}", f"Second goal {unique}", f"Third goal {unique}")
    await agree(intake, goals(client_id, *texts))
    await agree(intake, goal_closing(client_id, goal_id="g-2", outcome="met"), "/v1/goal-closings")
    later = await issue(
        intake, client_id, instrument="gbo", session_id="s-3", session_at="2026-12-04T10:00:00+00:00"
    )

    async def second_goal_gone() -> bool:
        page = (await intake.http.get(later)).text
        return sliders(page) == ["goal_1", "goal_3"]

    await eventually(second_goal_gone, within=WITHIN, what="the closed goal's slot emptied")
    page = (await intake.http.get(later)).text
    assert shown(texts[1]) not in page
    # In the session it was closed in, the goal is still rated; before the goals were agreed there is none.
    closing_session = await issue(
        intake, client_id, instrument="gbo", session_id="s-2", session_at="2026-11-27T10:00:00+00:00"
    )
    assert sliders((await intake.http.get(closing_session)).text) == ["goal_1", "goal_2", "goal_3"]
    before = await issue(
        intake, client_id, instrument="gbo", session_id="s-0", session_at="2026-11-13T10:00:00+00:00"
    )
    assert "No goals agreed yet" in (await intake.http.get(before)).text

    answer = await intake.http.post(
        later, data={"goal_1": "6", "goal_3": "9", "goals_shown": shown_goals(page)}
    )
    assert answer.status_code == 200, answer.text
    [rating] = await ratings_of(intake.kafka_bootstrap, client_id)
    assert (rating["data"]["session_id"], rating["data"]["items"]) == ("s-3", {"goal_1": 6, "goal_3": 9})


async def test_a_link_for_a_client_without_goals_says_so_and_stays_usable(
    intake: Intake, unique: str
) -> None:
    client_id = f"c-{unique}"
    path = await issue(intake, client_id, instrument="gbo")

    page = await intake.http.get(path)
    assert page.status_code == 200
    assert "No goals agreed yet" in page.text and "<form" not in page.text
    assert "Traceback" not in page.text
    sent = await intake.http.post(path, data={"goal_1": "5", "goals_shown": "goal_1=g-1"})
    assert sent.status_code == 409 and "No goals agreed yet" in sent.text
    assert await ratings_of(intake.kafka_bootstrap, client_id, expected=0, settle=0.5) == []

    # Once goals are agreed, the same link opens the form.
    await agree(intake, goals(client_id, f"Feel calmer {unique}"))
    page_text = await form_showing(intake.http, path, f"Feel calmer {unique}")
    assert sliders(page_text) == ["goal_1"]


async def test_goals_revised_while_the_form_was_open_are_shown_again_not_rated_blindly(
    intake: Intake, unique: str
) -> None:
    client_id = f"c-{unique}"
    await agree(intake, goals(client_id, f"Old first {unique}", f"Old second {unique}"))
    path = await issue(intake, client_id, instrument="gbo")
    opened = await form_showing(intake.http, path, f"Old first {unique}")

    # The same session's goals revised later that day: the later agreement stands.
    revised = goals(
        client_id, f"New only goal {unique}", goals=[{"goal_id": "g-9", "text": f"New only goal {unique}"}]
    )
    await agree(intake, revised)
    current = await form_showing(intake.http, path, f"New only goal {unique}")
    assert sliders(current) == ["goal_1"]

    stale = await intake.http.post(
        path, data={"goal_1": "2", "goal_2": "4", "goals_shown": shown_goals(opened)}
    )
    assert stale.status_code == 409
    assert "updated" in stale.text and shown(f"New only goal {unique}") in stale.text
    assert await ratings_of(intake.kafka_bootstrap, client_id, expected=0, settle=0.5) == []

    sent = await intake.http.post(path, data={"goal_1": "7", "goals_shown": shown_goals(stale.text)})
    assert sent.status_code == 200, sent.text
    [rating] = await ratings_of(intake.kafka_bootstrap, client_id)
    assert rating["data"]["items"] == {"goal_1": 7}


async def test_goal_ratings_out_of_range_show_the_form_again(intake: Intake, unique: str) -> None:
    client_id = f"c-{unique}"
    await agree(intake, goals(client_id, f"Goal {unique}"))
    path = await issue(intake, client_id, instrument="gbo")
    page = await form_showing(intake.http, path, f"Goal {unique}")

    refused = await intake.http.post(path, data={"goal_1": "11", "goals_shown": shown_goals(page)})
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text and "goal_1" in refused.text
    assert shown(f"Goal {unique}") in refused.text  # the same goals, to correct
    assert (
        await intake.http.post(path, data={"goal_1": "10", "goals_shown": shown_goals(page)})
    ).status_code == 200


# ---- the reading of client.events ---------------------------------------------------------------------


def agreement(clinic_id: str, client_id: str, session: int, *goal_ids: str) -> Any:
    data = GoalsAgreedV1(
        client_id=client_id,
        therapist_id="t-1",
        session_id=f"s-{session}",
        session_at=datetime(2026, 11, 20, 10, tzinfo=UTC) + timedelta(weeks=session),
        goals=[Goal(goal_id=goal, text=f"Words of {goal}") for goal in goal_ids],
        agreed_at=datetime(2026, 11, 20, 11, tzinfo=UTC) + timedelta(weeks=session),
    )
    return GOALS_AGREED.envelope(data, clinic_id=clinic_id, client_id=client_id, source="/tests")


async def test_goal_events_apply_once_in_session_order_and_a_broken_one_is_dead_lettered(
    intake: Intake, unique: str
) -> None:
    client_id = f"c-{unique}"
    key = f"{intake.clinic_id}:{client_id}".encode()
    newer = agreement(intake.clinic_id, client_id, 2, "g-new-1", "g-new-2")
    older = agreement(intake.clinic_id, client_id, 1, "g-old")
    closing = GOAL_CLOSED.envelope(
        GoalClosedV1(
            client_id=client_id,
            therapist_id="t-1",
            session_id="s-3",
            session_at=datetime(2026, 12, 11, 10, tzinfo=UTC),
            goal_id="g-new-2",
            outcome="dropped",
            closed_at=datetime(2026, 12, 11, 11, tzinfo=UTC),
        ),
        clinic_id=intake.clinic_id,
        client_id=client_id,
        source="/tests",
    )
    broken = {**json.loads(encode(older)), "id": f"broken-{unique}", "data": {"client_id": client_id}}
    store: GoalStore = intake.app.state.goals
    producer = AIOKafkaProducer(bootstrap_servers=intake.kafka_bootstrap)
    await producer.start()

    async def send(*values: bytes) -> None:
        for value in values:
            await producer.send_and_wait(topics.CLIENT_EVENTS.name, value, key=key)

    async def stored() -> dict[str, Any]:
        document = await store.collection.find_one({"_id": f"{intake.clinic_id}:{client_id}"})
        return document or {}

    try:
        # The newer agreement, the older one arriving late, and one that says it is goals.agreed but is none.
        await send(encode(newer), encode(older), json.dumps(broken).encode())
        await eventually(
            lambda: _count(stored, "agreements", 2), within=WITHIN, what="both agreements applied"
        )
        first = await stored()
        assert [(goal["slot"], goal["goal_id"]) for goal in first["active"]] == [
            (1, "g-new-1"),
            (2, "g-new-2"),
        ]
        # Both agreements again (a redelivery), then a closing: only the closing changes anything.
        await send(encode(newer), encode(older), encode(closing))
        await eventually(lambda: _count(stored, "closings", 1), within=WITHIN, what="the closing applied")
    finally:
        await producer.stop()
    after = await stored()
    assert after["version"] == first["version"] + 1
    assert [(goal["slot"], goal["goal_id"]) for goal in after["active"]] == [(1, "g-new-1")]

    def ours(record: Any) -> bool:
        return record.key == key and dict(record.headers).get("x-original-topic") == b"client.events"

    [letter] = await records_matching(
        intake.kafka_bootstrap, topics.DEAD_LETTER.name, ours, expected=1, settle=1
    )
    headers = {name: value.decode() for name, value in letter.headers}
    assert headers["x-dead-letter-reason"] == "contract"
    assert "invalid goals.agreed v1" in headers["x-dead-letter-detail"]
    # As of session 1 the older goals stand, though the newer arrived first.
    earlier = await issue(
        intake, client_id, instrument="gbo", session_id="s-1", session_at="2026-11-27T10:00:00+00:00"
    )
    assert sliders(page := (await intake.http.get(earlier)).text) == ["goal_1"]
    assert shown("Words of g-old") in page


async def _count(stored: Callable[[], Awaitable[dict[str, Any]]], field: str, expected: int) -> bool:
    return len((await stored()).get(field, [])) == expected


# ---- in a real browser ---------------------------------------------------------------------------------


def rate_in_browser(url: str, lefts: dict[str, int]) -> dict[str, Any]:
    """Rate each goal with the keyboard (End is 10, each Left one less), checking the page as it goes."""
    seen: dict[str, Any] = {}
    with chromium(window="412,1000") as browser:  # a phone's width
        browser.get(url)
        labels = [browser.find_element(By.CSS_SELECTOR, f"label[for='{name}']") for name in lefts]
        # A label holds the goal's words and, after them, the slider's number as it moves.
        seen["labels"] = [
            label.text.removesuffix(label.find_element(By.TAG_NAME, "output").text) for label in labels
        ]
        seen["violations"] = axe_violations(browser)
        for name, presses in lefts.items():
            browser.find_element(By.ID, name).send_keys(Keys.END, *([Keys.ARROW_LEFT] * presses))
        seen["shown"] = {name: browser.find_element(By.ID, f"{name}-value").text for name in lefts}
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.ID, "thanks")))
    return seen


async def test_a_client_rates_their_goals_in_a_real_browser(servers: Servers, unique: str) -> None:
    client_id, clinic_id, api_key = f"c-{unique}", f"clinic-{unique}", f"key-{unique}-0123456789"
    texts = (f"Sleep through most nights {unique}", f"Walk to work twice a week {unique}")
    settings = intake_settings(servers.kafka_bootstrap, servers.mongodb_uri, unique)
    await issue_key(settings, clinic_id, api_key, frozenset({Scope.INGEST}))
    await start_goals_at_end(settings)
    app = create_app(settings)
    auth = {"Authorization": f"Bearer {api_key}"}
    with served(app) as base_url:
        app.state.settings = settings.model_copy(update={"public_url": base_url})
        async with httpx.AsyncClient(base_url=base_url) as http:
            agreed = await http.post("/v1/goals", json=goals(client_id, *texts), headers=auth)
            assert agreed.status_code == 202, agreed.text
            link = {"client_id": client_id, "therapist_id": "t-1", "session_id": "s-1"}
            issued = await http.post(
                "/v1/feedback-links",
                json={**link, "session_at": "2026-11-20T10:00:00+00:00", "instrument": "gbo"},
                headers=auth,
            )
            assert issued.status_code == 201, issued.text
            url = str(issued.json()["url"])
            await form_showing(http, url.removeprefix(base_url), *texts)
        seen = await asyncio.to_thread(rate_in_browser, url, {"goal_1": 3, "goal_2": 0})

    assert seen["labels"] == list(texts)
    assert seen["violations"] == []
    assert seen["shown"] == {"goal_1": "7", "goal_2": "10"}  # whole numbers, as the scale has
    [rating] = await ratings_of(servers.kafka_bootstrap, client_id)
    assert rating["clinicid"] == clinic_id
    assert (rating["data"]["instrument"], rating["data"]["items"]) == ("gbo", {"goal_1": 7, "goal_2": 10})
