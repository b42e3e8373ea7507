"""Tests for conclab.coroutines: the tiny event loop."""

import pytest

from conclab import coroutines as co


def napper(name, clock, naps, log):
    for nap in naps:
        log.append((clock.now(), name))
        yield nap
    return name.upper()


def test_results_come_back_in_task_order():
    clock = co.VirtualClock()
    log = []
    tasks = [napper("slow", clock, [3], log), napper("fast", clock, [1], log)]
    assert co.tiny_loop(tasks, clock) == ["SLOW", "FAST"]


def test_sleeping_tasks_wake_in_time_order_and_time_is_the_longest_path():
    clock = co.VirtualClock()
    log = []
    tasks = [napper("a", clock, [1, 1], log), napper("b", clock, [0.5, 2], log)]
    co.tiny_loop(tasks, clock)
    assert log == [(0.0, "a"), (0.0, "b"), (0.5, "b"), (1.0, "a")]
    assert clock.now() == pytest.approx(2.5)  # b: 0.5 + 2; a: 1 + 1 overlaps it


def test_yield_zero_round_robins():
    order = []

    def task(name):
        for i in range(3):
            order.append(f"{name}{i}")
            yield 0

    co.tiny_loop([task("a"), task("b")])
    assert order == ["a0", "b0", "a1", "b1", "a2", "b2"]


def test_equal_wake_times_keep_fifo_order():
    order = []

    def task(name):
        yield 1
        order.append(name)

    co.tiny_loop([task(c) for c in "abcd"])
    assert order == list("abcd")


def test_async_def_tasks_run_on_the_same_loop():
    clock = co.VirtualClock()
    seen = []

    async def inner(x):
        await co.Sleep(x)
        return x * 10

    async def outer(x):
        value = await inner(x)
        seen.append((clock.now(), value))
        return value

    assert co.tiny_loop([outer(2), outer(1)], clock) == [20, 10]
    assert seen == [(1.0, 10), (2.0, 20)]


def test_a_failing_task_propagates():
    def bad():
        yield 0
        raise ValueError("boom")

    with pytest.raises(ValueError):
        co.tiny_loop([bad()])


@pytest.mark.timeout(30)
def test_real_clock_overlaps_sleeps():
    clock = co.RealClock()
    log = []
    start = clock.now()
    co.tiny_loop([napper(c, clock, [0.2], log) for c in "abc"], clock)
    # three 0.2 s naps overlap: far less than the 0.6 s they would take in a row
    assert clock.now() - start < 0.55
