"""Alert wording of the case-sensitive score markers (version 2.1): a low one says it is the client's usual."""

from datetime import UTC, datetime

import pytest

from services.notify.wording import describe, recognition_of
from shared.contracts import MarkerV2, RuptureSuspectedV4
from shared.contracts.events import Severity

RUPTURE = RuptureSuspectedV4(
    rupture_id="r-1",
    therapist_id="t-1",
    client_id="c-1",
    session_id="s-9",
    session_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
    severity=Severity.HIGH,
    markers=[],
    srs_total=31.0,
    baseline=31.4,
)


@pytest.mark.parametrize("code", ["below_cutoff", "item_low"])
@pytest.mark.parametrize(("level", "usual"), [(Severity.LOW, True), (Severity.MEDIUM, False)])
def test_a_score_marker_at_the_clients_usual_says_so(code: str, level: Severity, usual: bool) -> None:
    value, bound = (31.0, 32.0) if code == "below_cutoff" else (6.8, 7.0)
    marker = MarkerV2(code=code, family="score", level=level, value=value, threshold=bound, dimension="bond")
    words = describe(marker, RUPTURE)
    assert ("as usual for this client" in words) is usual
    assert "below" in words


REPORT_WORDS = [
    pytest.param("reported_rupture", "report", Severity.HIGH, 2.0, "hardly resolved", id="reported-high"),
    pytest.param("reported_rupture", "report", Severity.LOW, 4.0, "mostly resolved", id="reported-low"),
    pytest.param(
        "unrecognised_rupture",
        "perspective",
        Severity.MEDIUM,
        0.0,
        "tension the therapist did not",
        id="unseen",
    ),
    pytest.param(
        "unrecognised_rupture", "perspective", Severity.MEDIUM, 2.0, "2 points more resolved", id="gap"
    ),
    pytest.param(
        "therapist_reported_rupture", "report", Severity.LOW, 3.0, "the client did not report", id="therapist"
    ),
]


@pytest.mark.parametrize(("code", "family", "level", "value", "words"), REPORT_WORDS)
def test_rupture_report_markers_in_plain_words(
    code: str, family: str, level: Severity, value: float, words: str
) -> None:
    marker = MarkerV2(code=code, family=family, level=level, value=value, threshold=1.0)
    described = describe(marker, RUPTURE)
    assert words in described
    assert code not in described  # a sentence, not the code


@pytest.mark.parametrize(
    ("recognised_by", "words"),
    [
        ("client", "client reported tension the therapist did not"),
        ("therapist", "therapist reported tension the client did not"),
        ("both", "Recognised by both"),
        ("neither", "only the ratings show it"),
    ],
)
def test_the_alert_says_who_recognised_the_rupture(recognised_by: str, words: str) -> None:
    rupture = RUPTURE.model_copy(update={"recognised_by": recognised_by})
    assert words in recognition_of(rupture)


def test_not_on_track_says_the_observed_and_expected_change_and_the_model() -> None:
    marker = MarkerV2(
        code="not_on_track",
        family="outcome",
        level=Severity.MEDIUM,
        value=0.0,
        threshold=2.89,
        expected=4.39,
        model_version="clinic-1@2026-11-28T03:00:00Z",
    )
    words = describe(marker, RUPTURE)
    assert "+0 points since intake" in words
    assert "+4.39 by now" in words
    assert "lower limit +2.89" in words
    assert "model clinic-1@2026-11-28T03:00:00Z" in words


@pytest.mark.parametrize(
    ("code", "family", "value", "threshold", "words"),
    [
        ("goal_disagreement", "perspective", 4.0, 3.0, "4 points apart"),
        ("goal_setback", "outcome", 3.0, 4.0, "3 of 10, at or below 4"),
    ],
)
def test_goal_markers_in_plain_words_without_the_goal(
    code: str, family: str, value: float, threshold: float, words: str
) -> None:
    marker = MarkerV2(code=code, family=family, level=Severity.MEDIUM, value=value, threshold=threshold)
    described = describe(marker, RUPTURE)
    assert words in described and code not in described
