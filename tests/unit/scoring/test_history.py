from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from services.scoring.domain import (
    Attendance,
    ClientHistory,
    ConflictingFact,
    InvalidFact,
    Respondent,
)

from .builders import CLIENT, CLINIC, T0, attendance, ors, session_at, srs


def test_sessions_are_in_session_order_not_arrival_order() -> None:
    history = ClientHistory.of(
        CLINIC, CLIENT, [srs(3, "30"), srs(1, "38"), attendance(2, Attendance.NO_SHOW)]
    )
    assert [s.session_id for s in history.sessions] == ["s01", "s02", "s03"]


def test_sessions_at_the_same_time_are_ordered_by_session_id() -> None:
    same_time = session_at(1)
    b = attendance(1, Attendance.ATTENDED, event_id="e-b", occurred_at=same_time)
    a = attendance(2, Attendance.ATTENDED, event_id="e-a", occurred_at=same_time)
    history = ClientHistory.of(CLINIC, CLIENT, [a, b])
    assert [s.session_id for s in history.sessions] == ["s01", "s02"]


def test_applying_the_same_event_twice_changes_nothing() -> None:
    fact = srs(1, "38")
    once = ClientHistory.of(CLINIC, CLIENT, [fact])
    assert once.with_fact(fact) is once
    assert ClientHistory.of(CLINIC, CLIENT, [fact, fact, fact]) == once
    assert once.has_applied(fact.event_id)


def test_the_same_event_id_with_other_content_is_a_conflict() -> None:
    history = ClientHistory.of(CLINIC, CLIENT, [srs(1, "38", event_id="e-1")])
    with pytest.raises(ConflictingFact) as raised:
        history.with_fact(srs(1, "30", event_id="e-1"))
    assert raised.value.fields == ("event_id",)


@pytest.mark.parametrize(
    ("clinic", "client", "field"),
    [
        pytest.param("clinic-2", CLIENT, "clinic_id", id="other-clinic"),
        pytest.param(CLINIC, "client-2", "client_id", id="other-client"),
    ],
)
def test_a_fact_of_another_client_is_refused(clinic: str, client: str, field: str) -> None:
    history = ClientHistory.of(CLINIC, CLIENT)
    other = replace(attendance(1, Attendance.ATTENDED), clinic_id=clinic, client_id=client)
    with pytest.raises(InvalidFact) as raised:
        history.with_fact(other)
    assert raised.value.fields == (field,)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(InvalidFact) as raised:
        attendance(1, Attendance.ATTENDED, occurred_at=datetime(2026, 1, 5, 10, 0))
    assert raised.value.fields == ("occurred_at",)


@pytest.mark.parametrize(
    ("arrival", "winner"),
    [
        pytest.param(["early", "late"], "late", id="later-submission-wins-in-order"),
        pytest.param(["late", "early"], "late", id="later-submission-wins-out-of-order"),
    ],
)
def test_latest_submission_for_a_session_instrument_and_respondent_wins(
    arrival: list[str], winner: str
) -> None:
    versions = {
        "early": srs(1, "30", event_id="e-early", submitted_at=T0 + timedelta(hours=1)),
        "late": srs(1, "38", event_id="e-late", submitted_at=T0 + timedelta(hours=5)),
    }
    history = ClientHistory.of(CLINIC, CLIENT, [versions[name] for name in arrival])
    client_srs = history.sessions[0].client_srs
    assert client_srs is not None and client_srs.total == versions[winner].scores.total


def test_a_submission_tie_goes_to_the_greater_event_id() -> None:
    same = T0 + timedelta(hours=1)
    history = ClientHistory.of(
        CLINIC,
        CLIENT,
        [srs(1, "38", event_id="e-b", submitted_at=same), srs(1, "30", event_id="e-a", submitted_at=same)],
    )
    client_srs = history.sessions[0].client_srs
    assert client_srs is not None and client_srs.total == Decimal(38)


def test_respondents_and_instruments_are_separate_slots() -> None:
    history = ClientHistory.of(
        CLINIC, CLIENT, [srs(1, "30"), srs(1, "38", Respondent.THERAPIST), ors(1, "20")]
    )
    session = history.sessions[0]
    assert session.client_srs is not None and session.client_srs.total == Decimal(30)
    assert session.therapist_srs is not None and session.therapist_srs.total == Decimal(38)
    assert session.client_ors is not None and session.client_ors.total == Decimal(20)


def test_the_latest_attendance_record_wins() -> None:
    first = attendance(1, Attendance.NO_SHOW, event_id="a-1", recorded_at=T0 + timedelta(hours=1))
    correction = attendance(1, Attendance.LATE, event_id="a-2", recorded_at=T0 + timedelta(hours=3))
    history = ClientHistory.of(CLINIC, CLIENT, [correction, first])
    assert history.sessions[0].attendance is Attendance.LATE


def test_feedback_alone_makes_a_session_with_unknown_attendance_presumed_held() -> None:
    session = ClientHistory.of(CLINIC, CLIENT, [srs(1, "38")]).sessions[0]
    assert session.attendance is None
    assert session.presumed_held and session.counts


def test_the_attendance_record_sets_the_session_time() -> None:
    moved = session_at(5)
    history = ClientHistory.of(
        CLINIC, CLIENT, [srs(1, "38"), srs(2, "37"), attendance(1, Attendance.ATTENDED, occurred_at=moved)]
    )
    assert [s.session_id for s in history.sessions] == ["s02", "s01"]
    assert history.sessions[1].occurred_at == moved


def test_cancelled_sessions_do_not_count() -> None:
    session = ClientHistory.of(CLINIC, CLIENT, [attendance(1, Attendance.CANCELLED)]).sessions[0]
    assert not session.counts and not session.presumed_held
