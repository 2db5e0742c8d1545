"""A scenario can ask for a rate and a duration: its stream is long enough, the others keep theirs."""

from reliability.scenarios import FAST, SUSTAINED, Scenario, catalogue
from reliability.stream import PATTERNS, clinics_for, generate


def test_the_fewest_clinics_whose_stream_is_long_enough() -> None:
    clinics = clinics_for(12_000, therapists=4, clients=8)

    assert len(generate(clinics=clinics, therapists=4, clients=8)) >= 12_000
    assert len(generate(clinics=clinics - 1, therapists=4, clients=8)) < 12_000
    assert clinics_for(1, therapists=1, clients=1) == 1


def test_a_scenario_with_a_rate_and_seconds_has_a_stream_for_that_long() -> None:
    items = SUSTAINED.stream("p-")
    clients = {(item.clinic_id, item.client_id) for item in items}

    assert SUSTAINED.seconds is not None
    assert len(items) >= SUSTAINED.rate * SUSTAINED.seconds >= 200 * 60
    assert all(item.clinic_id.startswith("p-") for item in items)
    assert len(clients) >= 380 > 60 * len(PATTERNS)  # every planted pattern, many times over


def test_the_scenarios_without_seconds_keep_their_streams() -> None:
    baseline = next(s for s in catalogue(0) if s.name == "baseline")

    assert (baseline.rate, baseline.seconds, len(baseline.stream("p-"))) == (25.0, None, 575)
    assert (FAST.rate, len(FAST.stream("p-"))) == (30.0, 193)
    assert Scenario("x", "y", None).stream("p-") == generate(clinics=3, therapists=2, clients=3, prefix="p-")
