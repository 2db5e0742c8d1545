"""The judge's account of acknowledged writes, and the scorecard's columns."""

from collections import Counter
from dataclasses import replace

from reliability.judge import kafka_account
from reliability.scorecard import COLUMNS, ScenarioResult, table


def test_an_event_in_kafka_that_scoring_never_applied_is_lost_like_one_missing_from_kafka() -> None:
    records = Counter({"e1": 1, "e2": 2, "e3": 1, "stranger": 1})  # e2 twice; e4 never produced
    account = kafka_account(records, accepted_ids=["e1", "e2", "e3", "e4"], applied_ids=["e1", "e2"])

    assert (account.accepted, account.present, account.applied) == (4, 3, 2)
    assert (account.lost, account.unapplied, account.events_lost) == (1, 1, 2)  # e4 missing, e3 not applied
    assert (account.copies, account.extra) == (1, 1)


def test_every_acknowledged_event_applied_is_accounted_for() -> None:
    account = kafka_account(Counter({"e1": 1, "e2": 1}), accepted_ids=["e1", "e2"], applied_ids=["e2", "e1"])

    assert account.applied == account.accepted == 2 and account.events_lost == 0


SUSTAINED = ScenarioResult(
    scenario="sustained",
    events_in=15000,
    accounted=15000,
    lost=0,
    duplicated=0,
    alerts_expected=80,
    alerts_delivered=80,
    extra=0,
    redelivered=0,
    acknowledged=15000,
    achieved_rate=214.3,
    sending_seconds=70.0,
)


def test_the_table_has_a_column_of_acknowledged_writes_beside_the_events_in() -> None:
    header, rule, row = table([SUSTAINED]).splitlines()

    titles = [cell.strip() for cell in header.strip("|").split("|")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert titles == [title for title, _ in COLUMNS]
    assert titles[1:4] == ["events in", "acknowledged", "events/s"]
    assert cells[1:4] == ["15000", "15000", "214"]
    assert len(rule) == len(header) == len(row)


def test_a_lost_event_fails_the_scenario() -> None:
    assert SUSTAINED.passed
    assert not replace(SUSTAINED, accounted=14999, lost=1).passed


def test_the_load_a_scenario_is_held_to_leaves_out_the_seconds_kafka_could_not_store() -> None:
    assert round(SUSTAINED.rate_while_available, 1) == 214.3  # no outage: the rate over the whole window
    outage = replace(SUSTAINED, acknowledged=16645, sending_seconds=88.6, unavailable_seconds=20.0)
    assert round(outage.acknowledged / outage.sending_seconds) == 188  # held back while refused
    assert round(outage.rate_while_available) == 243
