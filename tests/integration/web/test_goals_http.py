"""The client view's goal forms over plain HTTP on the real servers (DOMAIN.md version 2, "Goals agreed
together"): agreeing goals lands one goals.agreed on client.events however often the form is sent, scoring
applies it from Kafka into the client's view and read API, a revision keeps the goals whose words it keeps,
closing stages goal.closed, bad input answers a 422 page and sends nothing, and the goals' words never reach the
logs. The expected-curve section says so when there is no curve."""

import html
import json
import logging
import re
import uuid
from typing import Any

import httpx
import pytest

from services.scoring.web.progress import NO_CURVE
from shared.auth import Scope
from shared.contracts import GOAL_CLOSED, GOALS_AGREED
from shared.privacy.plumbing import Privacy
from shared.topics import CLIENT_EVENTS
from tests.integration.web.conftest import ViewsStack
from tests.integration.web.test_views_http import CSRF, opened
from tests.support.kafka import records_matching
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
FORM_ID = re.compile(r'name="form_id" value="([0-9a-f]{32})"')
FIRST_SESSION = re.compile(r'<select id="goals-session" name="session_id">\s*<option value="([^"]+)"')


def form_of(page: str) -> dict[str, str]:
    """The hidden fields and the default session of the page's goal forms."""
    csrf, form_id, session = CSRF.search(page), FORM_ID.search(page), FIRST_SESSION.search(page)
    assert csrf and form_id and session, "the client view has no goals form"
    return {"csrf_token": csrf.group(1), "form_id": form_id.group(1), "session_id": session.group(1)}


async def goal_events(
    views_stack: ViewsStack, type_name: str, client_id: str, expected: int, within: float = 30
) -> list[Any]:
    """The events of ``type_name`` about the client in this stack's clinic, waiting a moment for any duplicate;
    the goals' words travel sealed (checked here) and are returned opened with the client's key."""
    records = await records_matching(
        views_stack.bootstrap,
        CLIENT_EVENTS.name,
        lambda r: type_name.encode() in r.value and views_stack.clinic.encode() in r.value,
        expected=expected,
        within=within,
        settle=3,
    )
    events = [json.loads(r.value) for r in records]
    mine = [e for e in events if e["data"]["client_id"] == client_id]
    texts = [goal["text"] for event in mine for goal in event["data"].get("goals", [])]
    assert all(text.startswith("aesgcm:") for text in texts), "goal words left scoring unsealed"
    words = Privacy.of(views_stack.db).words
    return [await words.open_all(views_stack.clinic, client_id, event) for event in mine]


async def stored_goals(views_stack: ViewsStack, client_id: str, until: Any) -> list[dict[str, Any]]:
    """The client's goals in the read model once ``until(goals)`` holds (scoring applies them from Kafka)."""
    found: list[dict[str, Any]] = []

    async def applied() -> bool:
        nonlocal found
        found = (await views_stack.alliance(views_stack.clinic, client_id)).get("goals", [])
        return bool(until(found))

    await eventually(applied, within=30, what="the goals in the client's read model")
    return found


async def test_agreed_goals_publish_once_reach_the_view_and_stay_out_of_the_logs(
    views_stack: ViewsStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = "c-steady"
    sleep, friends = (
        "Sleep through most nights (goal words only the page may hold)",
        "See a friend every week",
    )
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        path = await opened(views_stack, http, view="client", client_id=client, therapist_id="t-demo-1")
        page = (await http.get(path)).text
        assert 'id="no-goals"' in page
        form = {**form_of(page), "goal_1": sleep, "goal_2": "  See a friend\n every week ", "goal_3": ""}
        for _ in range(2):  # a double click
            sent = await http.post(f"{path}/goals", data=form)
            assert sent.status_code == 303
            assert sent.headers["location"] == f"/views/clients/{client}?done=goals-agreed#goals"

        (event,) = await goal_events(views_stack, GOALS_AGREED.type_name(), client, expected=1)
        data = event["data"]
        assert [g["text"] for g in data["goals"]] == [sleep, friends]  # one line, as the form's help says
        assert data["session_id"] == form["session_id"] and data["therapist_id"] == "t-demo-1"
        ids = [g["goal_id"] for g in data["goals"]]
        assert ids == [f"g-{form['form_id']}-1", f"g-{form['form_id']}-2"]

        goals = await stored_goals(views_stack, client, lambda goals: len(goals) == 2)
        assert [(g["goal_id"], g["text"], g["slot"], g["status"]) for g in goals] == [
            (ids[0], sleep, 1, "active"),
            (ids[1], friends, 2, "active"),
        ]
        assert {g["agreed_session_id"] for g in goals} == {form["session_id"]}

        shown = (await http.get(f"{path}?done=goals-agreed")).text
        assert "The goals are agreed" in shown
        assert f'class="goal-text">1. {html.escape(sleep)}</h3>' in shown
        assert "Active, rated as goal 2" in shown and shown.count("Not rated yet.") == 2
        # The revision form starts from the active goals.
        assert f'name="goal_1" maxlength="300" rows="2" required>{html.escape(sleep)}</textarea>' in shown
        assert f'name="goal_2" maxlength="300" rows="2">{html.escape(friends)}</textarea>' in shown

        reader = views_stack.key_for(views_stack.clinic, Scope.READ)
        api = await http.get(f"/v1/clients/{client}/alliance", headers={"Authorization": f"Bearer {reader}"})
        assert [g["text"] for g in api.json()["goals"]] == [sleep, friends]  # like the notes

    audit = await views_stack.db["scoring_audit"].find_one(
        {"route": "POST /views/clients/{client_id}/goals", "client_ids": [client]}
    )
    assert audit is not None and audit["actor"] == "therapist:t-demo-1"
    # The logs saw the form posted, never its words.
    assert f"POST /views/clients/{client}/goals" in caplog.text
    assert "Sleep through" not in caplog.text and "friend" not in caplog.text


async def test_a_revision_keeps_the_goals_whose_words_it_keeps_and_a_goal_closes_once(
    views_stack: ViewsStack,
) -> None:
    client = "c-steady-2"
    unique = uuid.uuid4().hex[:6]
    walk, calm, cook = f"Walk daily {unique}", f"Stay calm at work {unique}", f"Cook for myself {unique}"
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        path = await opened(views_stack, http, view="client", client_id=client, therapist_id="t-demo-2")
        page = (await http.get(path)).text
        first = form_of(page)
        # Agreed a session before the latest: a second agreement in the same session would correct this one
        # (the domain keeps a session's latest), not revise it.
        earlier = re.findall(r'<option value="([^"]+)"', page.split('id="goals-session"', 1)[1])[1]
        await http.post(
            f"{path}/goals", data={**first, "session_id": earlier, "goal_1": walk, "goal_2": calm}
        )
        agreed = await stored_goals(views_stack, client, lambda goals: len(goals) == 2)
        walk_id, calm_id = agreed[0]["goal_id"], agreed[1]["goal_id"]

        revised = form_of((await http.get(path)).text)
        assert revised["form_id"] != first["form_id"]  # each page its own form
        sent = await http.post(f"{path}/goals", data={**revised, "goal_1": cook, "goal_2": walk})
        assert sent.status_code == 303
        goals = await stored_goals(views_stack, client, lambda goals: len(goals) == 3)
        assert [(g["goal_id"], g["slot"], g["status"], g["outcome"]) for g in goals] == [
            (f"g-{revised['form_id']}-1", 1, "active", None),
            (walk_id, 2, "active", None),  # the same words: the same goal, its ratings kept
            (calm_id, None, "closed", "replaced"),  # left out
        ]

        page = (await http.get(path)).text
        close = {**form_of(page), "outcome": "met"}
        for _ in range(2):  # a double click
            done = await http.post(f"{path}/goals/{walk_id}/close", data=close)
            assert done.status_code == 303 and done.headers["location"].endswith("done=goal-closed#goals")
        (event,) = await goal_events(views_stack, GOAL_CLOSED.type_name(), client, expected=1)
        assert (event["data"]["goal_id"], event["data"]["outcome"]) == (walk_id, "met")
        goals = await stored_goals(
            views_stack,
            client,
            lambda goals: any(g["goal_id"] == walk_id and g["status"] == "closed" for g in goals),
        )
        walked = next(g for g in goals if g["goal_id"] == walk_id)
        assert (walked["outcome"], walked["closed_session_id"]) == ("met", close["session_id"])
        again = await http.post(f"{path}/goals/{walk_id}/close", data={**close, "form_id": uuid.uuid4().hex})
        assert again.headers["location"].endswith("done=goal-already-closed#goals")
        shown = (await http.get(path)).text
        assert "Met on" in shown and "Replaced on" in shown
    audit = await views_stack.db["scoring_audit"].find_one(
        {"route": "POST /views/clients/{client_id}/goals/{goal_id}/close", "client_ids": [client]}
    )
    assert audit is not None and audit["actor"] == "therapist:t-demo-2"


async def test_bad_goal_input_answers_a_422_page_and_sends_nothing(
    views_stack: ViewsStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = "c-rupture-repair"
    marker = f"never-sent-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        path = await opened(views_stack, http, view="client", client_id=client, therapist_id="t-demo-1")
        form = form_of((await http.get(path)).text)
        bad = {
            "no goal": ({"goal_1": " ", "goal_2": ""}, "Write at least one goal."),
            "too long": ({"goal_1": marker + "x" * 300}, "a goal may have at most 300"),
            "repeated": ({"goal_1": marker, "goal_2": f" {marker} "}, "Goal 2 repeats goal 1 word for word."),
            "unknown session": (
                {"goal_1": marker, "session_id": "s-nobody"},
                "Choose one of the client's sessions",
            ),
            "forged form id": ({"goal_1": marker, "form_id": "../x"}, "The form is incomplete."),
        }
        for case, (fields, problem) in bad.items():
            answer = await http.post(f"{path}/goals", data={**form, **fields})
            assert answer.status_code == 422, case
            assert answer.headers["content-type"].startswith("text/html"), case
            assert "Nothing was sent" in answer.text and problem in html.unescape(answer.text), case
            assert marker not in answer.text, case  # the page names the problem, never repeats the words
        assert (
            await http.post(f"{path}/goals", data={**form, "goal_1": marker, "csrf_token": "x"})
        ).status_code == 403

        # A goal to close, then closings that cannot be.
        await http.post(f"{path}/goals", data={**form, "goal_1": f"A goal {marker}"})
        (goal,) = await stored_goals(views_stack, client, lambda goals: len(goals) == 1)
        page = (await http.get(path)).text
        close = {**form_of(page), "outcome": "met"}
        wrong = await http.post(f"{path}/goals/{goal['goal_id']}/close", data={**close, "outcome": "done"})
        assert wrong.status_code == 422 and "met, dropped or replaced" in wrong.text
        sessions = (await views_stack.alliance(views_stack.clinic, client))["sessions"]
        earlier = sessions[0]["session_id"]  # the goal was agreed in the latest session
        before = await http.post(
            f"{path}/goals/{goal['goal_id']}/close", data={**close, "session_id": earlier}
        )
        assert (
            before.status_code == 422
            and "A goal ends in or after the session it was agreed in" in before.text
        )
        unknown = await http.post(f"{path}/goals/g-nobody/close", data=close)
        assert unknown.status_code == 404

    # Only the one good agreement went out, and no closing at all.
    agreements = await goal_events(views_stack, GOALS_AGREED.type_name(), client, expected=1)
    assert [[g["text"] for g in e["data"]["goals"]] for e in agreements] == [[f"A goal {marker}"]]
    assert await goal_events(views_stack, GOAL_CLOSED.type_name(), client, expected=1, within=5) == []
    assert marker not in caplog.text


async def test_without_a_fitted_curve_the_view_says_there_is_none(views_stack: ViewsStack) -> None:
    async with httpx.AsyncClient(base_url=views_stack.base_url) as http:
        path = await opened(views_stack, http, view="client", client_id="c-stale", therapist_id="t-demo-1")
        page = (await http.get(path)).text
    words = re.search(r'<p id="trajectory-words">([^<]*)</p>', page)
    assert words is not None and html.unescape(words.group(1)).startswith(NO_CURVE)
    assert 'id="trajectory-chart"' not in page and 'id="trajectory-table"' not in page
