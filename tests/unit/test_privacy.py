"""Sealing and opening a person's words, and the configuration of key-encryption keys (pure: a fake keyring)."""

import base64
import dataclasses
import os
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter

from shared.contracts import FEEDBACK_SUBMITTED, GOALS_AGREED, FeedbackSubmittedV1, Goal, GoalsAgreedV1
from shared.contracts.fields import Words as WordsField
from shared.privacy.keys import KeyConfigurationError, KeyEncryptionKeys
from shared.privacy.words import UNREADABLE, Words, WordsUnreadable, open_words, seal, words_in

KEY = os.urandom(32)
AT = datetime(2026, 11, 20, 10, tzinfo=UTC)


class FakeKeys:
    """Data keys in a dict, as ``DataKeys`` keeps them in MongoDB."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], bytes] = {}

    async def key_for(self, clinic_id: str, client_id: str) -> bytes:
        return self.keys.setdefault((clinic_id, client_id), os.urandom(32))

    async def find(self, clinic_id: str, client_id: str) -> bytes | None:
        return self.keys.get((clinic_id, client_id))


def words() -> tuple[Words, FakeKeys]:
    keys = FakeKeys()
    return Words(keys), keys  # type: ignore[arg-type]


def test_sealed_words_open_only_for_their_client_and_are_a_valid_words_value() -> None:
    value = seal(KEY, "clinic-a", "c-1", "e-1", "felt rushed, again")
    assert TypeAdapter(WordsField).validate_python(value) == value
    assert "rushed" not in value
    assert open_words(KEY, "clinic-a", "c-1", value) == "felt rushed, again"
    for clinic, client in (("clinic-a", "c-2"), ("clinic-b", "c-1")):
        with pytest.raises(WordsUnreadable):
            open_words(KEY, clinic, client, value)
    with pytest.raises(WordsUnreadable):
        open_words(os.urandom(32), "clinic-a", "c-1", value)
    with pytest.raises(WordsUnreadable):
        open_words(None, "clinic-a", "c-1", value)


def test_the_same_words_of_the_same_event_seal_to_the_same_value_and_others_do_not() -> None:
    first = seal(KEY, "clinic-a", "c-1", "e-1", "words")
    assert seal(KEY, "clinic-a", "c-1", "e-1", "words") == first
    assert seal(KEY, "clinic-a", "c-1", "e-2", "words") != first
    assert seal(KEY, "clinic-a", "c-1", "e-1", "other words") != first


async def test_an_event_with_words_in_the_clear_is_sealed_and_one_without_is_left_as_it_is() -> None:
    sealer, keys = words()
    rating = FeedbackSubmittedV1(
        session_id="s-1",
        therapist_id="t-1",
        client_id="c-1",
        session_at=AT,
        instrument="srs",
        respondent="client",
        items={"relationship": 9.0, "goals": 9.0, "approach": 9.0, "overall": 9.0},
        comment="my words",
        submitted_at=AT,
    )
    old = FEEDBACK_SUBMITTED.decode(
        FEEDBACK_SUBMITTED.envelope(rating, clinic_id="clinic-a", client_id="c-1", source="/t").model_dump(
            mode="json"
        )
    )
    assert old.data.comment == "clear:my words"
    sealed = await sealer.seal_event(FEEDBACK_SUBMITTED, old)
    assert sealed.data.comment.startswith("aesgcm:") and "my words" not in sealed.model_dump_json()
    assert open_words(keys.keys[("clinic-a", "c-1")], "clinic-a", "c-1", sealed.data.comment) == "my words"
    assert await sealer.seal_event(FEEDBACK_SUBMITTED, sealed) is sealed
    silent = old.model_copy(update={"data": old.data.model_copy(update={"comment": None})})
    assert await sealer.seal_event(FEEDBACK_SUBMITTED, silent) is silent


async def test_goals_are_sealed_one_by_one_and_opened_anywhere_in_a_view() -> None:
    sealer, keys = words()
    agreed = GoalsAgreedV1(
        client_id="c-1",
        therapist_id="t-1",
        session_id="s-1",
        session_at=AT,
        goals=[Goal(goal_id="g-1", text="sleep"), Goal(goal_id="g-2", text="speak up")],
        agreed_at=AT,
    )
    data = await sealer.sealed(GOALS_AGREED, "clinic-a", "c-1", "e-9", agreed)
    assert all(value.startswith("aesgcm:") for value in words_in(data, GOALS_AGREED.words))

    @dataclasses.dataclass(frozen=True)
    class Shown:
        texts: tuple[str, ...]
        more: dict[str, Any]

    view = Shown(tuple(goal.text for goal in data.goals), {"model": data, "n": 3})
    opened = await sealer.open_all("clinic-a", "c-1", view)
    assert opened.texts == ("sleep", "speak up")
    assert [goal.text for goal in opened.more["model"].goals] == ["sleep", "speak up"]
    assert opened.more["n"] == 3
    del keys.keys[("clinic-a", "c-1")]  # shredded
    assert (await sealer.open_all("clinic-a", "c-1", view)).texts == (UNREADABLE, UNREADABLE)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "ALLIANCE_KEKS is not set"),
        ("k1", "entry 1 is not id:base64"),
        ("k1:not base64!", "key 'k1' is not base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "has 5 bytes, not 32"),
        ("k1:{key},k1:{key}", "names key 'k1' twice"),
    ],
)
def test_unusable_keks_are_refused_with_what_is_wrong(text: str | None, message: str) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(KeyConfigurationError, match=message):
        KeyEncryptionKeys.parse(text.format(key=key) if text else text)


def test_the_first_kek_wraps_and_every_kek_unwraps() -> None:
    old, new = os.urandom(32), os.urandom(32)
    keks = KeyEncryptionKeys.parse(
        f"new:{base64.b64encode(new).decode()},old:{base64.b64encode(old).decode()}"
    )
    kek_id, wrapped = keks.wrap("clinic-a:c-1", KEY)
    assert kek_id == "new" and keks.unwrap(kek_id, "clinic-a:c-1", wrapped) == KEY
    with pytest.raises(KeyConfigurationError, match="wrong key"):
        keks.unwrap(kek_id, "clinic-a:c-2", wrapped)  # a wrapped key moved to another client
