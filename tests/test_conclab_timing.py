"""Tests for conclab.timing: repetition in shuffled rounds, usable cores, a pool that has started.

Nothing here asserts a speed: only what was run, how often, in which order, and
that every worker of a started pool is a distinct running process.
"""
import os

import pytest

from conclab import timing

pytestmark = pytest.mark.timeout(120)


def test_best_of_runs_every_measure_repeat_times_in_shuffled_rounds():
    calls = []
    values = {"a": iter([3.0, 1.0, 2.0]), "b": iter([5.0, 6.0, 4.0]), "c": iter([9.0, 7.0, 8.0])}
    measures = {name: (lambda n=name: calls.append(n) or next(values[n])) for name in values}
    t = timing.best_of(measures, repeat=3, seed=1)
    assert t.best == {"a": 1.0, "b": 4.0, "c": 7.0}
    assert t.samples == {"a": [3.0, 1.0, 2.0], "b": [5.0, 6.0, 4.0], "c": [9.0, 7.0, 8.0]}
    assert len(t.orders) == 3 and all(sorted(o) == ["a", "b", "c"] for o in t.orders)
    assert calls == [n for order in t.orders for n in order], "each round runs in its recorded order"
    assert t.spread("a") == 3.0


def test_best_of_shuffles_the_order_between_rounds():
    orders = timing.best_of({k: (lambda: 0.0) for k in "abcdef"}, repeat=8, seed=3).orders
    assert len({tuple(o) for o in orders}) > 1, "a fixed order would favour whoever runs first"


def test_best_of_can_keep_the_maximum():
    it = iter([1.0, 5.0, 2.0])
    assert timing.best_of({"rate": lambda: next(it)}, repeat=3, pick=max).best == {"rate": 5.0}


def test_best_of_needs_a_run():
    with pytest.raises(ValueError):
        timing.best_of({"a": lambda: 1.0}, repeat=0)


def test_usable_cores_is_the_affinity_not_the_machine():
    n = timing.usable_cores()
    assert 1 <= n <= (os.cpu_count() or n)
    if hasattr(os, "sched_getaffinity"):
        assert n == len(os.sched_getaffinity(0))


def test_free_cores_is_a_positive_share_of_the_cores_asked_for():
    got = timing.free_cores(0.1, processes=1)
    assert 0.0 < got <= 1.2   # one process cannot get much more than one core (timer slack allowed)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_started_pool_has_every_worker_running(method):
    import multiprocessing

    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} not available here")
    pool, seconds = timing.started_pool(3, method, timeout=60)
    try:
        assert seconds > 0
        assert len(pool._processes) == 3, "all three workers exist before any timed work"
        assert all(p.is_alive() for p in pool._processes.values())
        pids = {f.result(timeout=60) for f in [pool.submit(os.getpid) for _ in range(6)]}
        assert pids <= {p.pid for p in pool._processes.values()}
    finally:
        pool.shutdown(wait=True)


def test_started_pool_rejects_zero_workers():
    with pytest.raises(ValueError):
        timing.started_pool(0)
