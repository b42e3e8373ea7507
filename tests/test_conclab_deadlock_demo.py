"""Tests for course/conclab/deadlock_demo.py: every demo must end, and report the truth."""
import multiprocessing as mp
import sys
import threading

import pytest

from conclab import deadlock_demo as dd

SPAWN = mp.get_context("spawn")


def no_demo_threads_left():
    names = {t.name for t in threading.enumerate()}
    return not any(n in names for n in ("T1", "T2", "P0", "P1", "P2", "P3", "P4"))


def test_opposite_lock_orders_deadlock_and_are_cleaned_up():
    out = dd.two_locks(("A", "B"), ("B", "A"), timeout=1.0)
    assert out.deadlocked
    assert out.finished == []
    assert out.snapshot.holds == {"T1": ["A"], "T2": ["B"]}
    assert out.snapshot.waits == {"T1": "B", "T2": "A"}
    assert set(out.stacks) == {"T1", "T2"}
    assert out.stacks["T1"][0] == ("worker", "patient_acquire(locks[second], who, second, board)")
    assert out.stacks["T1"][1][0] == "patient_acquire"
    assert no_demo_threads_left()


def test_same_lock_order_never_deadlocks():
    for _ in range(3):
        out = dd.two_locks(("A", "B"), ("A", "B"), timeout=10.0)
        assert not out.deadlocked and out.finished == ["T1", "T2"]
        assert out.snapshot.holds == {} and out.snapshot.waits == {} and out.stacks == {}


def test_wait_for_edges():
    snap = dd.Snapshot(holds={"T1": ["A"], "T2": ["B"], "T3": ["C"]}, waits={"T1": "B", "T2": "A", "T3": "Z"})
    assert dd.wait_for_edges(snap) == [("T1", "T2", "B"), ("T2", "T1", "A")]


def test_ring_order_follows_the_cycle():
    snap = dd.Snapshot(holds={"P0": ["F0"], "P1": ["F1"], "P2": ["F2"]},
                       waits={"P0": "F1", "P1": "F2", "P2": "F0"})
    assert dd._ring_order(snap) == ["P0", "F1", "P1", "F2", "P2", "F0"]


def test_naive_philosophers_deadlock_when_forced():
    dinner = dd.dine(n=5, meals=2, timeout=1.5)
    assert dinner.deadlocked
    assert all(m == 0 for m in dinner.meals.values())
    assert dinner.snapshot.holds == {f"P{i}": [f"F{i}"] for i in range(5)}
    assert dinner.snapshot.waits == {f"P{i}": f"F{(i + 1) % 5}" for i in range(5)}
    assert len(dd.wait_for_edges(dinner.snapshot)) == 5
    assert no_demo_threads_left()


def test_one_big_lock_feeds_everyone_one_at_a_time():
    table = threading.Lock()
    dinner = dd.dine(lambda i, left, right, take: take("table"), n=5, meals=3, timeout=20,
                     extra_locks={"table": table})
    assert not dinner.deadlocked
    assert dinner.meals == {i: 3 for i in range(5)}
    assert dinner.max_eating == 1
    assert not table.locked()
    eating = [iv for iv in dinner.intervals if iv[1] == "eating"]
    assert len(eating) == 15


def test_pictures_draw():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    snap = dd.Snapshot(holds={"T1": ["A"], "T2": ["B"]}, waits={"T1": "B", "T2": "A"})
    fig, axes = plt.subplots(1, 4)
    dd.draw_resource_graph(snap, axes[0])
    dd.draw_wait_for(snap, axes[1], cycle=["T1", "T2"])
    dd.draw_table(5, dd.Snapshot({"P0": ["F0"]}, {"P0": "F1"}), axes[2])
    dinner = dd.Dinner(2, {0: 1, 1: 0}, False, dd.Snapshot(), [(0, "eating", 0.0, 0.1), (1, "holds, waits", 0.0, 0.1)], 1)
    dd.plot_dinner(dinner, axes[3])
    assert len(axes[1].texts) >= 4  # two labels, two names
    plt.close(fig)


def test_queue_join_deadlock_demo():
    small = dd.queue_join(100, SPAWN, timeout=10)
    assert small == {"stuck_before_get": False, "bytes_received": 100, "exit_after_get": 0}
    big = dd.queue_join(1 << 20, SPAWN, timeout=0.5)
    assert big == {"stuck_before_get": True, "bytes_received": 1 << 20, "exit_after_get": 0}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="64 KiB pipes are Linux's")
def test_pipe_exchange_deadlocks_exactly_past_capacity():
    from conclab.ipc import pipe_capacity

    cap = pipe_capacity()
    fits = dd.pipe_exchange(cap, SPAWN, timeout=10)
    assert not fits["deadlocked"] and fits["parent_read"] == cap and fits["child_exitcode"] == 0
    over = dd.pipe_exchange(cap + 1, SPAWN, timeout=1)
    assert over["deadlocked"] and not over["parent_write_returned"] and over["child_exitcode"] != 0
