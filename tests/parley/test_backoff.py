import pytest

from parley.backoff import Backoff


def test_each_failure_in_a_row_waits_the_next_delay_and_the_last_one_repeats():
    backoff = Backoff((0.5, 1.0, 2.0))
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert backoff.failures == 5


def test_a_success_starts_the_schedule_over():
    backoff = Backoff((0.2, 5.0))
    backoff.next_delay()
    backoff.next_delay()
    backoff.reset()
    assert backoff.failures == 0 and backoff.next_delay() == 0.2


def test_a_schedule_needs_a_delay():
    with pytest.raises(ValueError):
        Backoff(())
