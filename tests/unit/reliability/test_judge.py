"""The reliability judge's reading of the e-mails the SMTP server received."""

from datetime import UTC, datetime
from email.message import EmailMessage

from reliability.judge import email_alerts
from reliability.oracle import Expectation, judge_alerts
from reliability.receiver import Mailbox
from reliability.run import channel_alerts
from services.notify.alert import Recipient
from services.notify.planning import delivery_id
from services.scoring import domain
from shared.contracts import Severity

ADDRESS = "therapists@clinic-a.example"


def suspected(severity: domain.Severity, stale: bool, session: str) -> domain.RuptureSuspected:
    return domain.RuptureSuspected(
        clinic_id="clinic-a",
        client_id="c-1",
        episode_id="r-1",
        session_id=session,
        session_at=datetime(2026, 11, 2, tzinfo=UTC),
        therapist_id="t-1",
        severity=severity,
        previous_severity=domain.Severity.MEDIUM,
        markers=(),
        srs_total=None,
        baseline=None,
        stale=stale,
    )


def email_for(alert: domain.RuptureSuspected) -> EmailMessage:
    message = EmailMessage()
    recipient = Recipient("therapist", alert.therapist_id, "email", ADDRESS)
    message["X-Alliance-Delivery"] = delivery_id(
        alert.clinic_id, alert.episode_id, Severity(alert.severity.value), "alert", recipient
    )
    message["Subject"] = "[Alliance] rupture suspected"
    return message


def test_a_stale_escalation_at_a_level_already_alerted_is_the_same_email_as_the_first_alert() -> None:
    expectation = Expectation()
    first, stale = suspected(domain.Severity.HIGH, False, "s-3"), suspected(domain.Severity.HIGH, True, "s-7")
    for alert in (first, stale):  # in the order scoring owed them
        key = (alert.episode_id, alert.severity.value, alert.stale)
        expectation.alerts.add(key)
        expectation.alert_details[key] = alert
    mailbox = Mailbox(messages=[email_for(first)])

    delivered = email_alerts(mailbox, expectation, {"clinic-a": ADDRESS})
    verdict = judge_alerts(channel_alerts(expectation), delivered.alerts)

    assert delivered.alerts == [("r-1", "high", False)]
    assert (verdict.expected, verdict.delivered, verdict.lost, verdict.extra) == (1, 1, 0, 0)


def test_an_email_no_alert_explains_is_extra() -> None:
    expectation = Expectation()
    stranger = EmailMessage()
    stranger["X-Alliance-Delivery"] = "d-unknown"
    stranger["Subject"] = "[Alliance] something else"

    delivered = email_alerts(Mailbox(messages=[stranger]), expectation, {"clinic-a": ADDRESS})

    assert judge_alerts(set(), delivered.alerts).extra == 1
