"""The acknowledgement link's pages: the confirmation form with the optional 3RS tags, reading it, answering."""

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser

import pytest

from services.notify import ack_page
from services.notify.acknowledgement import Acknowledged, stored_tags
from shared.contracts import RepairTags
from shared.repair import STRATEGY_WORDS, TYPE_WORDS, RepairStrategy, RuptureType


@dataclass
class Control:
    kind: str
    name: str
    value: str
    id: str
    checked: bool
    fieldset: str  # the legend of the fieldset it is in


class Form(HTMLParser):
    """What a browser (and a screen reader) makes of the form: its controls, their labels, the order."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[Control] = []
        self.labels: dict[str, str] = {}  # the id a label is for -> its text
        self.order: list[str] = []  # fieldset legends and the button, as they come
        self._legend = self._in = self._label_for = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "legend":
            self._in, self._legend = "legend", ""
        elif tag == "label":
            self._in, self._label_for = "label", a.get("for", "")
            self.labels[self._label_for] = ""
        elif tag == "input":
            self.controls.append(
                Control(a["type"], a["name"], a["value"], a["id"], "checked" in a, self._legend)
            )
        elif tag == "button":
            self.order.append("button")

    def handle_endtag(self, tag: str) -> None:
        if tag == "legend":
            self.order.append(self._legend)
        if tag in ("legend", "label"):
            self._in = ""

    def handle_data(self, data: str) -> None:
        if self._in == "legend":
            self._legend += data
        elif self._in == "label":
            self.labels[self._label_for] += data


def parsed(html: str) -> Form:
    form = Form()
    form.feed(html)
    return form


def test_the_confirmation_form_offers_every_rupture_type_and_strategy_in_plain_words_then_the_button() -> (
    None
):
    form = parsed(ack_page.confirmation("r-1"))

    assert form.order == ["Type of rupture (optional)", "Repair strategies used (optional)", "button"]
    radios = [c for c in form.controls if c.kind == "radio"]
    boxes = [c for c in form.controls if c.kind == "checkbox"]
    assert {c.fieldset for c in radios} == {"Type of rupture (optional)"}
    assert {c.fieldset for c in boxes} == {"Repair strategies used (optional)"}
    assert [(c.name, c.value) for c in radios] == [("rupture_type", "")] + [
        ("rupture_type", str(kind)) for kind in RuptureType
    ]
    assert [(c.name, c.value) for c in boxes] == [("strategies", str(s)) for s in RepairStrategy]
    assert [c.value for c in form.controls if c.checked] == [""]  # "not named" unless the therapist says
    words = {"": "not named", **{str(k): v for k, v in TYPE_WORDS.items()}}
    words |= {str(k): v for k, v in STRATEGY_WORDS.items()}
    for control in form.controls:  # each control has its own label, in the shared words
        assert form.labels[control.id].strip() == words[control.value]
    assert len({c.id for c in form.controls}) == len(form.controls)


def test_the_confirmation_page_says_the_first_acknowledgement_keeps_its_tags() -> None:
    html = ack_page.confirmation("r-1")

    assert '<form method="post">' in html
    assert "Only the first acknowledgement of an episode keeps its tags" in html
    assert "tag it later when resolving it in the client view" in html
    assert "<script" not in html  # a plain form: it works without JavaScript


def test_the_rupture_id_is_escaped() -> None:
    assert "<b>" not in ack_page.confirmation("<b>")


def test_the_form_read_as_the_contract_reads_tags() -> None:
    assert ack_page.tags_from_form("", []) == RepairTags()
    assert ack_page.tags_from_form("both", ["redirect", "explain_rationale"]) == RepairTags(
        rupture_type=RuptureType.BOTH,
        strategies=[RepairStrategy.REDIRECT, RepairStrategy.EXPLAIN_RATIONALE],
    )


@pytest.mark.parametrize(
    ("rupture_type", "strategies", "problem"),
    [
        ("sulking", [], "“sulking” is not a type of rupture this form offers."),
        ("", ["redirect", "bribe"], "“bribe” is not a repair strategy this form offers."),
        ("", ["redirect", "redirect"], "A repair strategy was sent more than once."),
        ("", [str(s) for s in RepairStrategy] + ["redirect"], "More repair strategies were sent than"),
    ],
)
def test_a_value_the_form_does_not_offer_is_refused_by_name(
    rupture_type: str, strategies: list[str], problem: str
) -> None:
    with pytest.raises(ack_page.BadTags) as refused:
        ack_page.tags_from_form(rupture_type, strategies)

    assert any(p.startswith(problem) for p in refused.value.problems), refused.value.problems


def test_the_refusal_page_says_nothing_was_recorded_and_escapes_what_was_sent() -> None:
    with pytest.raises(ack_page.BadTags) as refused:
        ack_page.tags_from_form("<script>alert(1)</script>", [])
    html = ack_page.refused(refused.value.problems)

    assert "Nothing was recorded" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert '<a href="">Back to the alert</a>' in html


def acknowledged(tags: RepairTags) -> Acknowledged:
    return Acknowledged("r-1", "t-1", datetime(2026, 11, 20, 9, 30, tzinfo=UTC), "e-1", tags)


def test_the_answer_names_the_tags_that_stand_and_says_the_first_ones_count() -> None:
    tags = RepairTags(rupture_type=RuptureType.WITHDRAWAL, strategies=[RepairStrategy.INVITE_DISCUSSION])

    html = ack_page.acknowledged(acknowledged(tags))

    assert "acknowledged (at 2026-11-20 09:30 UTC)" in html
    assert f"Type of rupture: {escape(TYPE_WORDS[RuptureType.WITHDRAWAL])}." in html
    assert f"Repair strategies: {escape(STRATEGY_WORDS[RepairStrategy.INVITE_DISCUSSION])}." in html
    assert "Only the first acknowledgement of an episode keeps its tags" in html
    assert "when resolving it in the client view" in html


def test_the_answer_says_when_nothing_was_named() -> None:
    assert "The rupture and its repair were not named." in ack_page.acknowledged(acknowledged(RepairTags()))
    only_strategies = ack_page.acknowledged(acknowledged(RepairTags(strategies=[RepairStrategy.REDIRECT])))
    assert "Type of rupture: not named. Repair strategies: redirected." in only_strategies


def test_an_episode_acknowledged_before_tags_existed_reads_as_untagged() -> None:
    assert stored_tags({"acknowledged_at": datetime(2026, 1, 1, tzinfo=UTC)}) == RepairTags()
    assert stored_tags({"rupture_type": "confrontation", "strategies": ["redirect"]}) == RepairTags(
        rupture_type=RuptureType.CONFRONTATION, strategies=[RepairStrategy.REDIRECT]
    )
