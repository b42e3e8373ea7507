"""Tests for course/conclab/sync.py: the interleaving model, BoundedBuffer, RWLock.

Every wait is bounded; threads are daemons; outcomes are asserted, never timings.
"""
import threading
import time

import pytest

from conclab import sync
from support import wait_until

T = 20.0  # generous bound for every wait


def run_threads(*targets):
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(T)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"


# ------------------------------------------------------------------ the interleaving model

def test_serial_schedules_lose_nothing():
    for schedule in ("AAABBB", "BBBAAA"):
        rows, m = sync.run_schedule(schedule)
        assert m.done() and m.counter == 2 == m.expected


def test_classic_lost_update():
    rows, m = sync.run_schedule("ABABAB")
    assert m.counter == 1
    assert [r["op"] for r in rows] == ["LOAD", "LOAD", "ADD", "ADD", "STORE", "STORE"]
    assert "1 update(s) LOST" in sync.trace_table(rows, m)


def test_integer_schedules_and_partial_runs():
    rows, m = sync.run_schedule([0, 1, 0])
    assert not m.done() and len(rows) == 3
    assert m.reg == {"A": 1, "B": 0}
    assert "final counter" not in sync.trace_table(rows, m)


def test_bad_schedules_are_rejected():
    with pytest.raises(ValueError):
        sync.run_schedule("AAAA")  # A has only three instructions
    with pytest.raises(ValueError):
        sync.run_schedule("AC")  # no thread C


def test_all_schedules_count_and_outcomes():
    schedules = sync.all_schedules()
    assert len(schedules) == 20 == len(set(schedules))  # 6! / (3! 3!)
    assert sync.count_schedules() == {2: 2, 1: 18}
    three = sync.count_schedules(threads=3)
    assert sum(three.values()) == 1680 and three[3] == 6  # only the 3! serial orders are right


def test_loops_and_initial_value():
    rows, m = sync.run_schedule("AAAAAABBBBBB", loops=2, initial=10)
    assert m.counter == 14 == m.expected


def test_stepper_widget_builds_and_follows_buttons():
    pytest.importorskip("ipywidgets")
    w = sync.stepper("AB")
    text = w.children[0].children[1]
    step_a, step_b = w.children[1].children[:2]
    step_a.click()
    assert text.value == "ABA"
    for _ in range(5):  # B can only run twice more: extra clicks are ignored
        step_b.click()
    assert text.value == "ABABB"
    w.children[1].children[-1].click()  # reset
    assert text.value == ""


# ------------------------------------------------------------------ helpers

def test_concurrency_meter():
    meter = sync.ConcurrencyMeter()
    barrier = threading.Barrier(3, timeout=T)

    def inside():
        with meter:
            barrier.wait()

    run_threads(inside, inside, inside)
    assert meter.max == 3 and meter.current == 0 and meter.entries == 3


# ------------------------------------------------------------------ bounded buffer

def test_bounded_buffer_keeps_order_and_bound():
    buf = sync.BoundedBuffer(3)
    got = []

    def producer():
        for i in range(200):
            buf.put(i, timeout=T)

    def consumer():
        for _ in range(200):
            got.append(buf.get(timeout=T))

    run_threads(producer, consumer)
    assert got == list(range(200))
    assert 1 <= buf.max_len <= 3
    assert len(buf) == 0


def test_bounded_buffer_timeouts():
    buf = sync.BoundedBuffer(1)
    with pytest.raises(TimeoutError):
        buf.get(timeout=0.05)
    buf.put("x", timeout=0.05)
    with pytest.raises(TimeoutError):
        buf.put("y", timeout=0.05)
    with pytest.raises(ValueError):
        sync.BoundedBuffer(0)


def test_bounded_buffer_many_producers_and_consumers():
    buf = sync.BoundedBuffer(2)
    got = []
    lock = threading.Lock()

    def producer(k):
        return lambda: [buf.put((k, i), timeout=T) for i in range(100)]

    def consumer():
        for _ in range(100):
            item = buf.get(timeout=T)
            with lock:
                got.append(item)

    run_threads(*(producer(k) for k in range(3)), consumer, consumer, consumer)
    assert sorted(got) == sorted((k, i) for k in range(3) for i in range(100))
    assert buf.max_len <= 2


# ------------------------------------------------------------------ read-write lock

@pytest.mark.parametrize("fair", [True, False])
def test_readers_share(fair):
    rw = sync.RWLock(fair=fair)
    meter = sync.ConcurrencyMeter()
    barrier = threading.Barrier(4, timeout=T)  # all four must be inside at once to pass

    def reader():
        with rw.reading(timeout=T), meter:
            barrier.wait()

    run_threads(*[reader] * 4)
    assert meter.max == 4


@pytest.mark.parametrize("fair", [True, False])
def test_writer_excludes_everyone(fair):
    rw = sync.RWLock(fair=fair)
    inside = sync.ConcurrencyMeter()
    log = []

    def writer(k):
        def run():
            for _ in range(50):
                with rw.writing(timeout=T), inside:
                    log.append(("w", k))
        return run

    def reader():
        for _ in range(50):
            with rw.reading(timeout=T):
                with inside._lock:
                    writers_inside = inside.current
                assert writers_inside == 0, "a reader got in while a writer was writing"

    run_threads(writer(0), writer(1), reader, reader)
    assert inside.max == 1, "two writers were inside at once"
    assert len(log) == 100


def test_reader_blocks_writer_and_vice_versa():
    rw = sync.RWLock()
    assert rw.acquire_read(timeout=1)
    assert not rw.acquire_write(timeout=0.05)
    rw.release_read()
    assert rw.acquire_write(timeout=1)
    assert not rw.acquire_read(timeout=0.05)
    assert not rw.acquire_write(timeout=0.05)
    rw.release_write()
    assert rw.acquire_read(timeout=1)
    rw.release_read()
    assert rw.readers == 0


def _late_reader_admitted(fair: bool) -> bool:
    """A reader is inside; a writer arrives and waits; does a NEW reader get in before the writer?"""
    rw = sync.RWLock(fair=fair)
    assert rw.acquire_read(timeout=1)
    writer_in = threading.Event()

    def writer():
        if rw.acquire_write(timeout=T):
            writer_in.set()
            rw.release_write()

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    if fair:
        wait_until(rw.writer_waiting_or_writing, T, "a writer waiting or writing", interval=0.005)
    else:
        time.sleep(0.1)  # no observable queue without the turnstile; give the writer time to block
    admitted = rw.acquire_read(timeout=0.2)
    if admitted:
        rw.release_read()
    assert not writer_in.is_set()
    rw.release_read()
    t.join(T)
    assert writer_in.is_set() and not t.is_alive()
    return admitted


def test_fair_lock_queues_late_readers_behind_a_waiting_writer():
    assert _late_reader_admitted(fair=True) is False


def test_reader_preference_lets_late_readers_overtake():
    assert _late_reader_admitted(fair=False) is True


def test_timeouts_leave_the_lock_usable():
    rw = sync.RWLock()
    assert rw.acquire_write(timeout=1)
    results = []
    run_threads(lambda: results.append(rw.acquire_read(timeout=0.05)),
                lambda: results.append(rw.acquire_write(timeout=0.05)))
    assert results == [False, False] or sorted(results) == [False, False]
    rw.release_write()
    assert rw.readers == 0
    with rw.reading(timeout=1):
        pass
    with rw.writing(timeout=1):
        pass
    with pytest.raises(TimeoutError):
        with rw.writing(timeout=1):
            with rw.reading(timeout=0.05):
                pass


def test_lightswitch_counts_and_releases_room():
    room = threading.Semaphore(1)
    ls = sync.Lightswitch()
    assert ls.lock(room) and ls.lock(room)
    assert ls.counter == 2 and not room.acquire(timeout=0.01)
    ls.unlock(room)
    assert not room.acquire(timeout=0.01)
    ls.unlock(room)
    assert room.acquire(timeout=1)
    assert not ls.lock(room, timeout=0.05) and ls.counter == 0  # failed attempt is undone


def test_late_reader_demo():
    assert sync.late_reader_demo(fair=True) == {"late_reader_admitted": False, "writer_got_in": True}
    assert sync.late_reader_demo(fair=False) == {"late_reader_admitted": True, "writer_got_in": True}


def test_start_threads_and_join_all():
    stop = threading.Event()
    threads = sync.start_threads([lambda: stop.wait(20)] * 2, name="t")
    assert [t.name for t in threads] == ["t-0", "t-1"] and all(t.daemon for t in threads)
    assert sync.join_all(threads, timeout=0.1) is False
    stop.set()
    assert sync.join_all(threads, timeout=20) is True


def test_wakeup_demo_shows_the_if_bug_and_the_while_fix():
    assert sync.wakeup_demo(use_while=False) == ["IndexError: pop from empty list", "the only item"]
    assert sync.wakeup_demo(use_while=True) == ["nothing for me (timed out)", "the only item"]
