"""Signed feedback links: issued by the API, used once through the form, refused when tampered or expired."""

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.feedback.links.tokens import LinkSigner
from tests.integration.feedback.conftest import Intake, is_sealed, opened
from tests.support.kafka import records_matching

pytestmark = pytest.mark.integration
SRS_ANSWERS = {"relationship": "9.5", "goals": "8", "approach": "7.2", "overall": "10", "comment": "Good."}


async def issue(intake: Intake, client_id: str, **changes: Any) -> str:
    body = {
        "client_id": client_id,
        "therapist_id": "t-1",
        "session_id": "s-1",
        "session_at": "2026-11-20T10:00:00+00:00",
        **changes,
    }
    answer = await intake.http.post("/v1/feedback-links", json=body, headers=intake.auth)
    assert answer.status_code == 201, answer.text
    url: str = answer.json()["url"]
    assert url.startswith(intake.settings.public_url + "/f/")
    expires_at = datetime.fromisoformat(answer.json()["expires_at"])
    assert timedelta(hours=71) < expires_at - datetime.now(UTC) <= timedelta(hours=72)
    return url.removeprefix(intake.settings.public_url)


async def events_for(intake: Intake, client_id: str, expected: int = 1) -> list[dict[str, Any]]:
    records = await records_matching(
        intake.kafka_bootstrap,
        "client.events",
        lambda r: json.loads(r.value)["data"]["client_id"] == client_id,
        expected=expected,
        settle=1.0,
    )
    return [json.loads(r.value) for r in records]


async def test_a_link_shows_the_form_and_a_submit_publishes_client_feedback(
    intake: Intake, unique: str
) -> None:
    client_id = f"c-{unique}"
    path = await issue(intake, client_id)
    form = await intake.http.get(path)
    assert form.status_code == 200
    assert re.findall(r'type="range" id="(\w+)"', form.text) == [
        "relationship",
        "goals",
        "approach",
        "overall",
    ]
    assert '<label for="relationship">' in form.text

    thanks = await intake.http.post(path, data=SRS_ANSWERS)
    assert thanks.status_code == 200
    assert "Thank you" in thanks.text
    [event] = await events_for(intake, client_id)
    assert event["clinicid"] == intake.clinic_id
    assert event["data"]["respondent"] == "client"
    assert event["data"]["items"] == {"relationship": 9.5, "goals": 8.0, "approach": 7.2, "overall": 10.0}
    assert is_sealed(event["data"]["comment"])
    assert await opened(intake.settings, intake.clinic_id, client_id, event["data"]["comment"]) == "Good."


async def test_a_used_link_gets_409_and_no_second_event(intake: Intake, unique: str) -> None:
    client_id = f"c-{unique}"
    path = await issue(intake, client_id)
    assert (await intake.http.post(path, data=SRS_ANSWERS)).status_code == 200
    again = await intake.http.post(path, data=SRS_ANSWERS)
    assert again.status_code == 409
    assert "already" in again.text
    assert (await intake.http.get(path)).status_code == 409
    assert len(await events_for(intake, client_id)) == 1


async def test_a_double_submit_at_once_makes_one_event(intake: Intake, unique: str) -> None:
    client_id = f"c-{unique}"
    path = await issue(intake, client_id)
    answers = await asyncio.gather(*(intake.http.post(path, data=SRS_ANSWERS) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409]
    assert len(await events_for(intake, client_id)) == 1


async def test_a_tampered_link_gets_400(intake: Intake, unique: str) -> None:
    path = await issue(intake, f"c-{unique}")
    payload, signature = path.removeprefix("/f/").rsplit(".", 1)
    tampered = "/f/" + payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    forged = (
        "/f/"
        + LinkSigner("some-other-secret").issue(
            clinic_id="other",
            client_id="c-1",
            therapist_id="t-1",
            session_id="s-1",
            session_at=datetime.now(UTC),
            instrument="srs",
            lifetime=timedelta(hours=1),
        )[1]
    )
    for bad in (tampered, forged, "/f/nonsense"):
        assert (await intake.http.get(bad)).status_code == 400
        assert (await intake.http.post(bad, data=SRS_ANSWERS)).status_code == 400


async def test_an_expired_link_gets_410(intake: Intake, unique: str) -> None:
    signer: LinkSigner = intake.app.state.link_signer
    _, token = signer.issue(
        clinic_id=intake.clinic_id,
        client_id=f"c-{unique}",
        therapist_id="t-1",
        session_id="s-1",
        session_at=datetime.now(UTC),
        instrument="srs",
        lifetime=timedelta(seconds=-1),
    )
    assert (await intake.http.get(f"/f/{token}")).status_code == 410
    post = await intake.http.post(f"/f/{token}", data=SRS_ANSWERS)
    assert post.status_code == 410
    assert "expired" in post.text


async def test_out_of_range_answers_show_the_form_again_with_422(intake: Intake, unique: str) -> None:
    client_id = f"c-{unique}"
    path = await issue(intake, client_id)
    answer = await intake.http.post(path, data={**SRS_ANSWERS, "goals": "11"})
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text and "goals" in answer.text
    assert (await intake.http.post(path, data=SRS_ANSWERS)).status_code == 200  # the link is still usable


async def test_an_ors_link_asks_the_ors_items(intake: Intake, unique: str) -> None:
    path = await issue(intake, f"c-{unique}", instrument="ors")
    form = await intake.http.get(path)
    assert re.findall(r'type="range" id="(\w+)"', form.text) == [
        "individual",
        "interpersonal",
        "social",
        "overall",
    ]
