"""Incremental assessment is only a saving: at every step it equals assessing the history from scratch."""

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain import ClientAssessment, ClientHistory, Fact, Thresholds, assess_client
from services.scoring.domain.baseline import _mean, _sample_variance, _slope, _slope_of

from .builders import CLIENT, CLINIC
from .test_properties import client_facts, thresholds_strategy


def _same(incremental: ClientAssessment, scratch: ClientAssessment) -> None:
    assert incremental.history == scratch.history
    assert incremental.history.sessions == scratch.history.sessions
    assert incremental.sessions == scratch.sessions  # sessions and their markers
    assert incremental.timeline.events == scratch.timeline.events
    assert incremental.timeline.episodes == scratch.timeline.episodes
    assert incremental.summary == scratch.summary


@settings(max_examples=300, deadline=None)
@given(data=st.data(), facts=client_facts(), thresholds=thresholds_strategy)
def test_each_step_equals_assessing_from_scratch(
    data: st.DataObject, facts: list[Fact], thresholds: Thresholds
) -> None:
    history, previous = ClientHistory.of(CLINIC, CLIENT), None
    history.sessions  # noqa: B018  # derived, so that with_fact carries the sessions over
    for fact in data.draw(st.permutations(facts + facts[:2])):  # late facts and redeliveries included
        history = history.with_fact(fact)
        previous = assess_client(history, thresholds, previous=previous)
        scratch = assess_client(ClientHistory.of(CLINIC, CLIENT, history.facts), thresholds)
        _same(previous, scratch)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), facts=client_facts(), other=thresholds_strategy)
def test_a_previous_assessment_of_other_facts_or_thresholds_changes_nothing(
    data: st.DataObject, facts: list[Fact], other: Thresholds
) -> None:
    unrelated = data.draw(client_facts())
    previous = assess_client(ClientHistory.of(CLINIC, CLIENT, unrelated), other)
    history = ClientHistory.of(CLINIC, CLIENT, facts)
    _same(assess_client(history, previous=previous), assess_client(history))


totals = st.lists(
    st.builds(lambda n, d: Decimal(n) / d, st.integers(-4000, 4000), st.sampled_from([1, 4, 10, 100])),
    min_size=2,
    max_size=12,
)


@given(values=totals)
def test_integer_baseline_maths_is_the_exact_fraction_maths(values: list[Decimal]) -> None:
    exact = [Fraction(v) for v in values]
    centre = sum(exact, Fraction(0)) / len(exact)
    assert _mean(tuple(values)) == centre
    assert _sample_variance(tuple(values)) == sum(((v - centre) ** 2 for v in exact), Fraction(0)) / (
        len(exact) - 1
    )
    assert _slope(tuple(values)) == _slope_of(values)
