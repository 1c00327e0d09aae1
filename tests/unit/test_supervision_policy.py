"""The restart limit of `spn up`: at most N restarts within a sliding window, with backoff."""

from __future__ import annotations

from spn.stack.supervisor import RestartPolicy


def test_allows_the_limit_within_the_window_then_refuses():
    policy = RestartPolicy(limit=3, window=600)
    assert [policy.allow(now) for now in (0, 10, 20)] == [True, True, True]
    assert policy.count == 3
    assert not policy.allow(30)
    assert policy.count == 3, "a refused restart is not counted"


def test_the_window_slides_a_restart_out_after_window_seconds():
    policy = RestartPolicy(limit=2, window=600)
    assert policy.allow(0) and policy.allow(100)
    assert not policy.allow(599.9)
    assert policy.allow(600), "the restart at 0 is out of the window"
    assert policy.count == 2
    assert not policy.allow(650), "100 and 600 are still in it"
    assert policy.allow(700)


def test_first_restart_is_immediate_then_the_delay_doubles_up_to_the_maximum():
    policy = RestartPolicy(limit=10, window=600, backoff=1.0, max_backoff=5.0)
    delays = []
    for now in range(6):
        assert policy.allow(now)
        delays.append(policy.delay())
    assert delays == [0.0, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_the_delay_falls_back_once_earlier_restarts_leave_the_window():
    policy = RestartPolicy(limit=5, window=60, backoff=1.0)
    for now in (0, 1, 2):
        policy.allow(now)
    assert policy.delay() == 2.0
    assert policy.allow(100)
    assert policy.count == 1 and policy.delay() == 0.0


def test_a_limit_of_zero_never_restarts():
    policy = RestartPolicy(limit=0, window=600)
    assert not policy.allow(0)
    assert policy.count == 0


def test_the_window_in_words():
    assert RestartPolicy(5, 600).span == "10 min"
    assert RestartPolicy(5, 3600).span == "1 h"
    assert RestartPolicy(5, 45).span == "45 s"
    assert RestartPolicy(5, 90).span == "90 s"
