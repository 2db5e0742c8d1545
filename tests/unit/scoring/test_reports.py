"""Rupture reports (``psq``, DOMAIN.md version 2): their markers and levels, who recognised an episode, and
the repair of an episode the client reported when the clinic does not use SRS."""

from datetime import timedelta
from decimal import Decimal

import pytest

from services.scoring.domain import (
    Acknowledgement,
    ClientHistory,
    ClinicianActions,
    InvalidScores,
    MarkerCode,
    MarkerFamily,
    Recognition,
    ResolutionHow,
    Respondent,
    RuptureSuspected,
    Severity,
    assess_client,
    validate_scores,
)

from .builders import CLIENT, CLINIC, TABLE, assess, facts_of, history_of, psq, session_at, srs, table

C = MarkerCode
S = Severity
Fired = list[tuple[MarkerCode, Severity, str, str]]  # (code, level, observed, threshold) on the session


def _fired(spec: str, **overrides: object) -> Fired:
    assessment = assess([spec], table(overrides))
    return [(m.code, m.level, str(m.observed), str(m.threshold)) for m in assessment.sessions[0].markers]


REPORT_CASES = [
    # reported_rupture: high if intensity >= 4 and resolution <= 2; medium if resolution <= 3; low otherwise
    pytest.param("psq=0", [], id="no-tension-no-marker"),
    pytest.param("psq=4/2", [(C.REPORTED_RUPTURE, S.HIGH, "2", "2")], id="intense-unresolved-is-high"),
    pytest.param("psq=5/1", [(C.REPORTED_RUPTURE, S.HIGH, "1", "2")], id="intensity-5-resolution-1-is-high"),
    pytest.param("psq=3/2", [(C.REPORTED_RUPTURE, S.MEDIUM, "2", "3")], id="intensity-3-is-not-high"),
    pytest.param("psq=4/3", [(C.REPORTED_RUPTURE, S.MEDIUM, "3", "3")], id="resolution-3-is-medium"),
    pytest.param("psq=1/3", [(C.REPORTED_RUPTURE, S.MEDIUM, "3", "3")], id="mild-but-unresolved-is-medium"),
    pytest.param("psq=5/4", [(C.REPORTED_RUPTURE, S.LOW, "4", "3")], id="resolved-in-session-is-low"),
    pytest.param("psq=2/5", [(C.REPORTED_RUPTURE, S.LOW, "5", "3")], id="fully-resolved-is-low"),
    # unrecognised_rupture: the client reports tension, the therapist none or a resolution >= 2 higher
    pytest.param(
        "psq=3/3+tpsq=0",
        [(C.REPORTED_RUPTURE, S.MEDIUM, "3", "3"), (C.UNRECOGNISED_RUPTURE, S.MEDIUM, "0", "1")],
        id="therapist-saw-no-tension",
    ),
    pytest.param(
        "psq=3/2+tpsq=2/4",
        [(C.REPORTED_RUPTURE, S.MEDIUM, "2", "3"), (C.UNRECOGNISED_RUPTURE, S.MEDIUM, "2", "2")],
        id="therapist-resolution-2-higher",
    ),
    pytest.param(
        "psq=3/2+tpsq=2/3", [(C.REPORTED_RUPTURE, S.MEDIUM, "2", "3")], id="therapist-resolution-1-higher"
    ),
    pytest.param(
        "psq=3/4+tpsq=2/2", [(C.REPORTED_RUPTURE, S.LOW, "4", "3")], id="therapist-lower-resolution"
    ),
    pytest.param("psq=0+tpsq=0", [], id="neither-saw-tension"),
    # therapist_reported_rupture: the therapist reports tension the client did not
    pytest.param(
        "psq=0+tpsq=3/3", [(C.THERAPIST_REPORTED_RUPTURE, S.LOW, "3", "1")], id="therapist-only-client-none"
    ),
    pytest.param(
        "38+tpsq=2/4", [(C.THERAPIST_REPORTED_RUPTURE, S.LOW, "2", "1")], id="therapist-only-no-client-report"
    ),
    pytest.param("psq=2/4+tpsq=2/4", [(C.REPORTED_RUPTURE, S.LOW, "4", "3")], id="both-saw-it-alike"),
]


@pytest.mark.parametrize(("spec", "expected"), REPORT_CASES)
def test_report_markers_and_levels(spec: str, expected: Fired) -> None:
    assert _fired(spec) == expected


def test_the_medium_resolution_bound_is_a_clinic_setting() -> None:
    assert _fired("psq=3/4", report_medium_resolution=4) == [(C.REPORTED_RUPTURE, S.MEDIUM, "4", "4")]
    assert _fired("psq=3/4") == [(C.REPORTED_RUPTURE, S.LOW, "4", "3")]


def test_the_report_family_is_new_and_counts_in_the_severity_rule() -> None:
    # A medium report and a medium score marker are two families: high, like any two medium families.
    assessment = assess(["35+psq=3/3"])
    session = assessment.sessions[0]
    assert {m.family for m in session.markers if m.level is S.MEDIUM} == {
        MarkerFamily.SCORE,
        MarkerFamily.REPORT,
    }
    assert session.severity is S.HIGH
    # A medium report and an unrecognised rupture (perspective) are two families too.
    assert assess(["psq=3/3+tpsq=0"]).sessions[0].severity is S.HIGH
    # A medium report alone is medium.
    assert assess(["psq=3/3"]).sessions[0].severity is S.MEDIUM


REFUSED = [
    pytest.param({"tension": 1}, {"items.intensity", "items.resolution"}, id="tension-without-intensity"),
    pytest.param({"tension": 1, "intensity": 4}, {"items.resolution"}, id="tension-without-resolution"),
    pytest.param({"tension": 0, "intensity": 4}, {"items.intensity"}, id="intensity-without-tension"),
    pytest.param({"tension": 0, "resolution": 2}, {"items.resolution"}, id="resolution-without-tension"),
    pytest.param({"intensity": 4, "resolution": 2}, {"items.tension"}, id="no-tension-answer"),
    pytest.param({"tension": 2}, {"items.tension"}, id="tension-is-0-or-1"),
    pytest.param({"tension": 1, "intensity": 0, "resolution": 2}, {"items.intensity"}, id="intensity-1-to-5"),
    pytest.param({"tension": 1, "intensity": 3, "resolution": 2.5}, {"items.resolution"}, id="whole-numbers"),
]


@pytest.mark.parametrize(("items", "fields"), REFUSED)
def test_inconsistent_reports_are_refused_naming_each_field(
    items: dict[str, object], fields: set[str]
) -> None:
    with pytest.raises(InvalidScores) as refused:
        validate_scores("psq", items)
    assert set(refused.value.problems) == fields


def test_the_refusal_says_what_is_wrong_in_words() -> None:
    with pytest.raises(InvalidScores, match=r"items\.intensity: required when tension is 1"):
        validate_scores("psq", {"tension": 1, "resolution": 2})
    with pytest.raises(InvalidScores, match=r"items\.intensity: must be absent when tension is 0"):
        validate_scores("psq", {"tension": 0, "intensity": 4})


@pytest.mark.parametrize("therapist_first", [True, False], ids=["therapist-first", "client-first"])
def test_the_order_of_the_two_reports_does_not_change_the_result(therapist_first: bool) -> None:
    client = psq(1, "4/2")
    therapist = psq(1, "0", Respondent.THERAPIST)
    applied = [therapist, client] if therapist_first else [client, therapist]
    history = ClientHistory(CLINIC, CLIENT)
    for fact in applied:
        history = history.with_fact(fact)
    session = assess_client(history, TABLE).sessions[0]
    assert [(m.code, m.level) for m in session.markers] == [
        (C.REPORTED_RUPTURE, S.HIGH),
        (C.UNRECOGNISED_RUPTURE, S.MEDIUM),
    ]


def test_a_therapist_report_first_is_low_until_the_client_reports() -> None:
    alone = assess_client(ClientHistory.of(CLINIC, CLIENT, [psq(1, "3/3", Respondent.THERAPIST)]), TABLE)
    assert [m.code for m in alone.sessions[0].markers] == [C.THERAPIST_REPORTED_RUPTURE]
    assert alone.timeline.events == ()  # low: no alert
    both = ClientHistory.of(CLINIC, CLIENT, [psq(1, "3/3", Respondent.THERAPIST), psq(1, "4/2")])
    assert [m.code for m in assess_client(both, TABLE).sessions[0].markers] == [C.REPORTED_RUPTURE]


RECOGNITION = [
    pytest.param(["psq=4/2+tpsq=0"], Recognition.CLIENT, id="client-only"),
    pytest.param(["35+tpsq=3/2"], Recognition.THERAPIST, id="therapist-only"),
    pytest.param(["psq=4/2+tpsq=4/2"], Recognition.BOTH, id="both-in-the-same-session"),
    pytest.param(["psq=4/2+tpsq=0", "35+tpsq=2/2"], Recognition.BOTH, id="therapist-in-a-later-session"),
    pytest.param(["30"], Recognition.NEITHER, id="scores-only"),
]


@pytest.mark.parametrize(("specs", "recognition"), RECOGNITION)
def test_each_episode_says_who_recognised_it(specs: list[str], recognition: Recognition) -> None:
    episode = assess(specs).timeline.episodes[0]
    assert episode.recognition is recognition


def test_an_acknowledgement_is_the_therapist_recognising_it() -> None:
    episode = assess(["psq=4/2+tpsq=0"]).timeline.episodes[0]
    ack = Acknowledgement(episode.episode_id, "t-7", session_at(1) + timedelta(days=1))
    acknowledged = assess(["psq=4/2+tpsq=0"], actions=ClinicianActions(acknowledgements=frozenset({ack})))
    assert acknowledged.timeline.episodes[0].recognition is Recognition.BOTH


def test_the_alert_says_who_had_reported_it_by_then() -> None:
    alerts = [e for e in assess(["psq=4/2+tpsq=0"]).timeline.events if isinstance(e, RuptureSuspected)]
    assert [(a.severity, a.recognition) for a in alerts] == [(S.HIGH, Recognition.CLIENT)]


def test_without_srs_a_later_report_of_no_tension_repairs_a_reported_episode() -> None:
    assessment = assess(["psq=3/3", "psq=0"])
    (episode,) = assessment.timeline.episodes
    assert episode.resolution is not None
    assert episode.resolution.how is ResolutionHow.REPAIRED
    assert episode.resolution.sessions_to_repair == 1


def test_with_srs_the_srs_rule_repairs_and_a_report_of_no_tension_alone_does_not() -> None:
    # The second session has a low SRS (a marker): no repair though the report says no tension.
    (episode,) = assess(["38", "38", "psq=3/3+38", "psq=0+30"]).timeline.episodes
    assert episode.is_open
    # With SRS back to the usual and no tension, the SRS rule repairs it.
    (episode,) = assess(["38", "38", "psq=3/3+38", "psq=0+38"]).timeline.episodes
    assert episode.resolution is not None and episode.resolution.how is ResolutionHow.REPAIRED


def test_for_a_client_who_rates_with_srs_a_report_of_no_tension_waits_for_the_sessions_srs() -> None:
    """The form sends the report before the SRS: the report alone must not repair (and announce a repair) that
    the SRS arriving a minute later would contradict."""
    (episode,) = assess(["38", "38", "psq=3/3+38", "psq=0"]).timeline.episodes
    assert episode.is_open
    history = history_of(["38", "38", "psq=3/3+38", "psq=0"]).with_fact(srs(4, "30"))
    (episode,) = assess_client(history, TABLE).timeline.episodes
    assert episode.is_open  # the SRS that came says the rupture is not over


def test_an_episode_opened_by_a_report_is_opened_by_the_report_fact() -> None:
    facts = facts_of(["psq=4/2"])
    (episode,) = assess(["psq=4/2"]).timeline.episodes
    assert episode.opened_by_event_id == facts[0].event_id
    assert srs(1, "38").event_id != episode.opened_by_event_id
    assert episode.markers[0].observed == Decimal(2)
