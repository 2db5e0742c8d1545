"""The pure decisions of notify: quiet hours, who is told, the words of an alert, the backoff."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.notify.planning import plan_alert
from services.notify.routing import ClinicRouting, QuietHours, quiet_hours_end
from services.notify.wording import describe, dimension_of
from services.notify.worker import backoff_delay
from shared.contracts import MarkerV2, RuptureSuspectedV4, Severity

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = QuietHours(start=time(22), end=time(7))


def rupture(
    severity: Severity = Severity.MEDIUM,
    *,
    stale: bool = False,
    therapist: str = "t-1",
    from_history: bool = False,
) -> RuptureSuspectedV4:
    return RuptureSuspectedV4(
        rupture_id="r-1",
        therapist_id=therapist,
        client_id="c-1",
        session_id="s-1",
        session_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
        severity=severity,
        markers=[
            MarkerV2(code="below_cutoff", family="score", level=Severity.MEDIUM, value=31, threshold=36),
            MarkerV2(
                code="item_low", family="score", level=Severity.MEDIUM, value=7, threshold=8, dimension="goal"
            ),
        ],
        srs_total=31,
        baseline=37,
        stale=stale,
        from_history=from_history,
    )


ROUTING = ClinicRouting.model_validate(
    {
        "therapists": [{"therapist_id": "t-1", "email": "t1@clinic.example"}],
        "supervisors": [{"supervisor_id": "s-1", "webhook_url": "https://hooks.example/s1"}],
    }
)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("local", "end"),
    [
        (datetime(2026, 11, 20, 23, 30), datetime(2026, 11, 21, 7)),  # before midnight
        (datetime(2026, 11, 21, 6, 59), datetime(2026, 11, 21, 7)),  # after midnight
        (datetime(2026, 11, 21, 7, 0), None),  # the end itself is no longer quiet
        (datetime(2026, 11, 20, 21, 59), None),
    ],
)
def test_quiet_hours_may_span_midnight(local: datetime, end: datetime | None) -> None:
    found = quiet_hours_end(NIGHT, BERLIN, local.replace(tzinfo=BERLIN))
    assert found == (end.replace(tzinfo=BERLIN) if end else None)


def test_high_alerts_ignore_quiet_hours_and_lower_ones_wait() -> None:
    routing = ClinicRouting(timezone="Europe/Berlin", quiet_hours=NIGHT)
    night = datetime(2026, 11, 20, 23, tzinfo=BERLIN)
    assert routing.release_time(Severity.HIGH, night) == night
    assert routing.release_time(Severity.MEDIUM, night) == datetime(2026, 11, 21, 7, tzinfo=BERLIN)


def test_a_routed_alert_goes_to_the_therapist_and_arms_the_escalation_timer() -> None:
    plan = plan_alert("k", rupture(), ROUTING, None, NOW)
    assert [(d.recipient.kind, d.recipient.channel, d.reason) for d in plan.deliveries] == [
        ("therapist", "email", "alert")
    ]
    assert plan.escalate_at == NOW + timedelta(hours=48) and not plan.unrouted


def test_the_same_episode_and_level_always_plans_the_same_delivery_id() -> None:
    first = plan_alert("k", rupture(), ROUTING, None, NOW).deliveries[0].delivery_id
    later = plan_alert("k", rupture(), ROUTING, None, NOW + timedelta(hours=1)).deliveries[0].delivery_id
    higher = plan_alert("k", rupture(Severity.HIGH), ROUTING, None, NOW).deliveries[0].delivery_id
    assert first == later != higher


def test_below_the_threshold_nobody_is_told() -> None:
    plan = plan_alert("k", rupture(Severity.LOW), ROUTING, None, NOW)
    assert plan.deliveries == () and plan.escalate_at is None


def test_an_unrouted_therapist_s_alert_goes_to_the_supervisors_and_is_flagged() -> None:
    plan = plan_alert("k", rupture(therapist="t-9"), ROUTING, None, NOW)
    assert [d.recipient.kind for d in plan.deliveries] == ["supervisor"] and plan.unrouted


def test_a_stale_episode_tells_supervisors_and_therapist() -> None:
    plan = plan_alert("k", rupture(Severity.HIGH, stale=True), ROUTING, None, NOW)
    assert sorted((d.recipient.kind, d.reason) for d in plan.deliveries) == [
        ("supervisor", "stale"),
        ("therapist", "alert"),
    ]


def test_without_stored_routing_the_fallback_webhook_gets_every_therapist_s_alert() -> None:
    plan = plan_alert("k", rupture(therapist="anyone"), None, "http://hook.example/x", NOW)
    assert [(d.recipient.channel, d.recipient.address) for d in plan.deliveries] == [
        ("webhook", "http://hook.example/x")
    ]
    assert plan_alert("k", rupture(), None, None, NOW).deliveries == ()


@pytest.mark.parametrize(
    ("routing", "fallback", "alert"),
    [
        (ROUTING, None, rupture(Severity.HIGH, from_history=True)),
        (ROUTING, None, rupture(Severity.HIGH, stale=True, from_history=True)),  # no supervisor either
        (ROUTING, None, rupture(therapist="t-9", from_history=True)),  # unrouted: no supervisor fallback
        (None, "http://hook.example/x", rupture(from_history=True)),
    ],
)
def test_an_alert_from_history_plans_no_delivery_and_no_escalation(
    routing: ClinicRouting | None, fallback: str | None, alert: RuptureSuspectedV4
) -> None:
    live = plan_alert("k", alert.model_copy(update={"from_history": False}), routing, fallback, NOW)
    assert live.deliveries  # the same alert, news, would be pushed
    plan = plan_alert("k", alert, routing, fallback, NOW)
    assert plan.deliveries == () and plan.escalate_at is None and not plan.unrouted


def test_markers_read_as_plain_words() -> None:
    data = rupture()
    assert [describe(m, data) for m in data.markers] == [
        "SRS total 31, below the clinic's cutoff of 36; 6 points under this client's usual 37",
        "SRS goals item (goals) rated 7, below 8",
    ]
    assert dimension_of(data) == "goal"


def test_the_backoff_grows_is_capped_and_jittered() -> None:
    delays = [backoff_delay(attempt, 2.0, 300.0) for attempt in range(1, 15)]
    assert 1.0 <= delays[0] <= 2.0
    assert all(150.0 <= d <= 300.0 for d in delays[-4:])
