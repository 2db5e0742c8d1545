"""The arithmetic of the per-key request budget: a sliding window counter, as the ``limits`` library defines it."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.feedback.rate_limit import SlidingWindow

MINUTE = SlidingWindow(limit=20, seconds=60)


def admitted_later(window: SlidingWindow, previous: int, current: int, elapsed: float, delay: float) -> bool:
    """Whether one more request would be admitted ``delay`` seconds after ``elapsed`` into the current window,
    had nothing else been admitted meanwhile."""
    later = elapsed + delay
    if later < window.seconds:
        return current < window.room(previous, later)
    if later < 2 * window.seconds:  # the current window has become the previous one
        return window.room(current, later - window.seconds) > 0
    return True


@pytest.mark.parametrize(
    ("notation", "expected"),
    [("600/minute", SlidingWindow(600, 60)), ("20 per 10 seconds", SlidingWindow(20, 10))],
)
def test_the_setting_is_read_in_the_limits_notation(notation: str, expected: SlidingWindow) -> None:
    assert SlidingWindow.parse(notation) == expected


def test_windows_are_aligned_to_the_epoch() -> None:
    assert MINUTE.start_of(120.0) == MINUTE.start_of(179.999) == 120
    assert MINUTE.start_of(180.0) == 180


def test_a_key_without_history_has_the_whole_limit() -> None:
    assert MINUTE.room(previous=0, elapsed=0.0) == 20
    assert MINUTE.room(previous=0, elapsed=59.9) == 20


def test_the_previous_window_weighs_by_the_share_of_it_still_inside_the_sliding_window() -> None:
    # Half-way through the current window, half of the previous one is still inside: 10 of 20.
    assert MINUTE.room(previous=20, elapsed=30.0) == 10
    assert MINUTE.room(previous=20, elapsed=0.0) == 0
    assert MINUTE.room(previous=20, elapsed=59.0) == 19


def test_a_request_is_admitted_only_if_counted_it_stays_within_the_limit() -> None:
    # 10 before, 6 s into this window: they weigh 9, so 11 fit here (9 + 11 = 20), not a 12th.
    assert MINUTE.room(previous=10, elapsed=6.0) == 11
    # A moment earlier they weigh a little over 9: the 11th would take the count over 20.
    assert MINUTE.room(previous=10, elapsed=5.9) == 10


def test_a_full_window_waits_for_its_end_and_then_for_its_own_weight_to_fade() -> None:
    # 3/minute, all 3 at the start of a window: at its end they still weigh 3; a third of a window later, 2.
    window = SlidingWindow(limit=3, seconds=60)
    assert window.wait(previous=0, current=3, elapsed=0.0) == pytest.approx(80.0)
    assert window.wait(previous=0, current=3, elapsed=50.0) == pytest.approx(30.0)


def test_a_window_with_room_of_its_own_waits_for_the_previous_one_to_fade() -> None:
    # 20 before, 5 now, 10 s in: room for one more once the 20 weigh 14, at 18 s.
    assert MINUTE.wait(previous=20, current=5, elapsed=10.0) == pytest.approx(8.0)


@given(
    limit=st.integers(min_value=1, max_value=1000),
    seconds=st.sampled_from([1, 10, 60, 3600, 86400]),
    share_previous=st.floats(min_value=0, max_value=1),
    share_current=st.floats(min_value=0, max_value=1),
    share_elapsed=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_the_wait_ends_exactly_when_the_next_request_would_be_admitted(
    limit: int,
    seconds: int,
    share_previous: float,
    share_current: float,
    share_elapsed: float,
) -> None:
    window = SlidingWindow(limit, seconds)
    previous, current = round(limit * share_previous), round(limit * share_current)
    elapsed = seconds * share_elapsed
    if current < window.room(previous, elapsed):
        return  # admitted now: there is no wait to check
    wait = window.wait(previous, current, elapsed)
    margin = seconds * 1e-6
    assert admitted_later(window, previous, current, elapsed, wait + margin)
    if wait > margin:
        assert not admitted_later(window, previous, current, elapsed, wait - margin)
