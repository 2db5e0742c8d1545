"""The therapist's notes to the client and the client's answers (DOMAIN.md version 2): next_steps_mismatch."""

import pytest

from services.scoring.domain import ClientHistory, MarkerCode, MarkerFamily, Severity, assess_client

from .builders import CLIENT, CLINIC, TABLE, answer, assess, facts_of, note, table

C = MarkerCode
S = Severity


def _mismatch(specs: list[str], **overrides: object) -> list[tuple[int, Severity, str, str]]:
    """(session, level, observed, threshold) of every next_steps_mismatch."""
    assessment = assess(specs, table(overrides))
    return [
        (n, m.level, str(m.observed), str(m.threshold))
        for n, marked in enumerate(assessment.sessions, start=1)
        for m in marked.markers
        if m.code is C.NEXT_STEPS_MISMATCH
    ]


MISMATCH = [
    pytest.param(["38+note=no"], [(1, S.MEDIUM, "1", "1")], id="no-is-medium"),
    pytest.param(["38+note=yes"], [], id="yes-is-nothing"),
    pytest.param(["38+note=partly"], [], id="one-partly-is-nothing"),
    pytest.param(
        ["38+note=partly", "38+note=partly"], [(2, S.LOW, "2", "2")], id="partly-twice-in-a-row-is-low"
    ),
    pytest.param(
        ["38+note=partly", "38", "38+note=partly"],
        [(3, S.LOW, "2", "2")],
        id="sessions-without-a-note-between",
    ),
    pytest.param(["38+note=partly", "38+note=yes", "38+note=partly"], [], id="a-yes-breaks-the-run"),
    pytest.param(["38+note=partly", "38+note", "38+note=partly"], [], id="an-unanswered-note-breaks-the-run"),
    pytest.param(["38+note"], [], id="unanswered-is-no-marker"),
    pytest.param(
        ["38+note=partly", "38+note=partly", "38+note=partly"],
        [(2, S.LOW, "2", "2"), (3, S.LOW, "3", "2")],
        id="the-run-goes-on",
    ),
]


@pytest.mark.parametrize(("specs", "expected"), MISMATCH)
def test_next_steps_mismatch(specs: list[str], expected: list[tuple[int, Severity, str, str]]) -> None:
    assert _mismatch(specs) == expected


def test_the_run_of_partly_is_a_clinic_setting() -> None:
    assert _mismatch(["38+note=partly"], partly_notes_in_a_row=1) == [(1, S.LOW, "1", "1")]
    assert _mismatch(["38+note=partly", "38+note=partly"], partly_notes_in_a_row=3) == []


def test_agreement_is_a_family_of_its_own_in_the_severity_rule() -> None:
    session = assess(["35+note=no"]).sessions[0]  # a medium score marker and a "no"
    assert {m.family for m in session.markers} == {MarkerFamily.SCORE, MarkerFamily.AGREEMENT}
    assert session.severity is S.HIGH


def test_the_latest_answer_counts_and_the_episode_opens_on_the_answer() -> None:
    changed_mind = [
        *facts_of(["38", "38"]),
        note(3),
        answer(3, "no", days_later=1),
        answer(3, "yes", days_later=3),
    ]
    assessment = assess_client(ClientHistory.of(CLINIC, CLIENT, changed_mind), TABLE)
    assert assessment.sessions[2].markers == ()
    said_no = [*facts_of(["38", "38"]), note(3), answer(3, "no")]
    (episode,) = assess_client(ClientHistory.of(CLINIC, CLIENT, said_no), TABLE).timeline.episodes
    assert episode.opened_by_event_id == "answer-3-2"


def test_a_note_alone_makes_a_session_known_at_the_notes_session_time() -> None:
    history = ClientHistory.of(CLINIC, CLIENT, [note(1)])
    (session,) = history.sessions
    assert (session.session_id, session.note_ids, session.note_fit) == ("s01", ("n-1",), None)
    assert session.occurred_at == note(1).session_at
