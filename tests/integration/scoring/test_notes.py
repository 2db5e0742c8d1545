"""A note shared with the client and the client's answer, through the real scoring service: the answer "no"
is a next_steps_mismatch on the note's session, and the client's alliance shows the note with its answer."""

from typing import Any

import pytest

from shared.contracts import CloudEvent
from tests.integration.scoring.conftest import Scoring
from tests.integration.scoring.streams import ClientStream, Publisher
from tests.integration.scoring.test_delivery import feed

pytestmark = pytest.mark.integration


async def test_a_note_answered_no_is_a_mismatch_and_shows_with_its_answer(
    scoring: Scoring, publisher: Publisher, unique: str
) -> None:
    stream = ClientStream(f"clinic-{unique}", f"c-{unique}")
    events: list[CloudEvent[Any]] = [
        stream.srs(1, "38"),
        stream.srs(2, "38"),
        stream.note(2, "Next: the evening check-in, twice this week."),
        stream.answer(2, "no", comment="I came to talk about my mother."),
    ]
    async with scoring.running() as http:
        await feed(scoring, publisher, stream, events)
        answer = await http.get(
            f"/v1/clients/{stream.client_id}/alliance",
            headers={"Authorization": f"Bearer {scoring.key_for(stream.clinic_id)}"},
        )
    assert answer.status_code == 200, answer.text
    alliance = answer.json()
    session = next(s for s in alliance["sessions"] if s["session_id"] == "s02")
    assert [(m["code"], m["family"], m["level"]) for m in session["markers"]] == [
        ("next_steps_mismatch", "agreement", "medium")
    ]
    [note] = alliance["notes"]
    assert (note["note_id"], note["session_id"], note["fit"]) == ("n-2", "s02", "no")
    assert note["text"] == "Next: the evening check-in, twice this week."
    assert note["comment"] == "I came to talk about my mother."
    assert alliance["open_episode"]["severity"] == "medium"
