"""Unit tests of ps2_deadlock's shipped module, deadlock_support.py.

The notebook's tests lean on it (the watched locks that prove a deadlock, the
registry, the slow accounts, the strict table), so it is tested here on its
own.  Every test that may deadlock does so in daemon threads and waits with
timeouts.
"""
import sys
import threading
import time

import pytest

from support import wait_until
from tools.assignments import SOURCE

sys.path.insert(0, str(SOURCE / "ps2_deadlock"))

import deadlock_support as ds  # noqa: E402
from deadlock_support import Account, Rude, Table, WatchedLock  # noqa: E402


def daemon(fn, *args, name=None):
    t = threading.Thread(target=fn, args=args, name=name, daemon=True)
    t.start()
    return t


def crossed(meet):
    """Two threads deadlocked on two WatchedLocks: (t1, t2, a, b)."""
    a, b = WatchedLock("a"), WatchedLock("b")

    def take(first, second):
        with first:
            meet.wait()
            with second:
                pass

    return daemon(take, a, b, name="x1"), daemon(take, b, a, name="x2"), a, b


# ------------------------------------------------------------------ WatchedLock
def test_watched_lock_behaves_like_a_lock_and_records_its_holder():
    lock = WatchedLock("w")
    assert not lock.locked() and lock.holder is None
    assert lock.acquire() is True
    assert lock.locked() and lock.holder is threading.current_thread()
    assert lock.acquire(blocking=False) is False
    assert lock.acquire(timeout=0.01) is False
    assert lock.waiters == {}, "a finished acquire leaves no waiting record"
    lock.release()
    assert not lock.locked() and lock.holder is None
    with pytest.raises(RuntimeError):
        lock.release()
    with lock as value:
        assert value is True and lock.locked()
    assert not lock.locked()


def test_watched_lock_records_waiters_with_their_timeouts():
    lock = WatchedLock("w")
    lock.acquire()
    forever = daemon(lock.acquire, name="forever")
    patient = daemon(lambda: lock.acquire(timeout=30), name="patient")
    wait_until(lambda: len(lock.waiters) == 2, 3.0, "both threads waiting on the lock", interval=0.005)
    assert lock.waiters == {forever: -1, patient: 30}
    text = ds.describe([lock])
    assert "held by MainThread" in text and "forever" in text and "patient (for 30 s)" in text
    lock.release()  # one of them gets it; release it on its behalf, like a plain Lock allows
    wait_until(lambda: len(lock.waiters) == 1 and lock.locked(), 3.0, "one thread holding the lock, the other waiting",
               interval=0.005)
    lock.release()
    forever.join(3), patient.join(3)
    assert not forever.is_alive() and not patient.is_alive()


def test_switch_hook_runs_at_every_switch_point_in_the_locking_thread():
    seen = []

    def switch(lk, where):
        seen.append((where, lk.holder is threading.current_thread(), lk.locked()))

    lock = WatchedLock("s", slow=True, switch=switch)
    with lock:
        assert lock.acquire(blocking=False) is False
    assert seen == [("acquire", False, False), ("acquired", True, True),
                    ("acquire", True, True), ("missed", True, True), ("released", False, False)]


# ------------------------------------------------------------------ watching_locks
def test_watching_locks_patches_only_the_namespace_and_restores_it():
    from threading import Lock

    namespace = {"threading": threading, "Lock": Lock}
    code = compile("made = (threading.Lock(), Lock(), threading.Event())", "<cell>", "exec")
    with ds.watching_locks(namespace) as made:
        exec(code, namespace)
        assert isinstance(threading.Lock(), type(Lock())), "the real module is untouched"
    a, b, event = namespace["made"]
    assert isinstance(a, WatchedLock) and isinstance(b, WatchedLock) and made == [a, b]
    assert isinstance(event, threading.Event), "everything else comes from the real threading module"
    assert namespace["threading"] is threading and namespace["Lock"] is Lock
    exec(code, namespace)
    assert not isinstance(namespace["made"][0], WatchedLock)


def test_watching_locks_makes_threads_that_are_daemons_only_if_told_so():
    from threading import Thread

    namespace = {"threading": threading, "Thread": Thread}
    code = compile("made = [threading.Thread(target=print), Thread(target=print), "
                   "threading.Thread(target=print, daemon=True)]", "<cell>", "exec")
    box = []

    def in_a_daemon_thread():
        with ds.watching_locks(namespace):
            exec(code, namespace)
        box.append([t.daemon for t in namespace["made"]])

    t = daemon(in_a_daemon_thread)
    t.join(5)
    assert box == [[False, False, True]], "a forgotten daemon=True shows even in a daemon thread"
    assert namespace["Thread"] is Thread


# ------------------------------------------------------------------ deadlocked_pair
def test_deadlocked_pair_accepts_a_real_deadlock():
    t1, t2, a, b = crossed(threading.Barrier(2))
    text = ds.deadlocked_pair(t1, t2, a, b, within=3)
    assert "a: held by x1; waiting for it: x2" in text and "b: held by x2; waiting for it: x1" in text


def test_deadlocked_pair_rejects_finished_threads_at_once():
    a, b = WatchedLock(), WatchedLock()

    def fine(first, second):
        with first, second:
            pass

    t1, t2 = daemon(fine, a, b), daemon(fine, a, b)
    t1.join(3), t2.join(3)
    started = time.monotonic()
    with pytest.raises(AssertionError, match="finished"):
        ds.deadlocked_pair(t1, t2, a, b, within=3)
    assert time.monotonic() - started < 1, "a finished thread cannot deadlock any more: no need to wait"


def test_deadlocked_pair_rejects_timeouts_one_holder_and_foreign_locks():
    a, b = WatchedLock("a"), WatchedLock("b")
    meet = threading.Barrier(2)

    def timed(first, second):
        with first:
            meet.wait()
            second.acquire(timeout=30)

    t1, t2 = daemon(timed, a, b), daemon(timed, b, a)
    with pytest.raises(AssertionError, match="timeout"):
        ds.deadlocked_pair(t1, t2, a, b, within=0.5)

    c, d, go = WatchedLock("c"), WatchedLock("d"), threading.Event()

    def greedy():
        with c, d:
            go.wait()

    g1 = daemon(greedy)
    g2 = daemon(go.wait)
    with pytest.raises(AssertionError, match="holds both locks|held by nobody"):
        ds.deadlocked_pair(g1, g2, c, d, within=0.5)
    go.set()
    with pytest.raises(AssertionError, match="threading.Lock"):
        ds.deadlocked_pair(g1, g2, threading.Lock(), d, within=0.1)


# ------------------------------------------------------------------ registry
def test_reset_registry_starts_an_empty_one():
    first = ds.registry()
    first.holder["x"] = "y"
    second = ds.reset_registry()
    assert second is ds.registry() and second is not first
    assert second.holder == {} and second.waiting == {}
    assert second.mutex.acquire(blocking=False)
    second.mutex.release()


# ------------------------------------------------------------------ Account
def test_accounts_have_unique_numbers_and_remember_their_lowest_balance():
    a, b = Account(10), Account(5, name="bob")
    assert a.number < b.number and b.name == "bob"
    a.balance -= 15
    a.balance += 20
    assert a.balance == 15 and a.lowest == -5
    assert isinstance(a.lock, WatchedLock) and a.lock.name.endswith(".lock")


def test_unguarded_read_modify_write_on_accounts_loses_updates():
    """The point of the slow setter: a race that loses updates shows at once."""
    acc = Account(0)

    def add():
        for _ in range(200):
            acc.balance += 1

    threads = [daemon(add) for _ in range(4)]
    for t in threads:
        t.join(10)
    assert acc.balance < 800


# ------------------------------------------------------------------ Table and dine
def ordered(table, i, meals):
    first, second = sorted((table.left(i), table.right(i)))
    for _ in range(meals):
        with table.forks[first], table.forks[second]:
            table.eat(i)
        table.think(i)


def left_first(table, i, meals):
    for _ in range(meals):
        with table.forks[table.left(i)], table.forks[table.right(i)]:
            table.eat(i)


def test_table_numbers_forks_and_checks_the_rules():
    table = Table(3, strict_host=False, put_back=False)
    assert [(table.left(i), table.right(i)) for i in range(3)] == [(0, 1), (1, 2), (2, 0)]
    with pytest.raises(Rude, match="without holding fork-1"):
        with table.forks[0]:
            table.eat(0)
    with table.forks[0], table.forks[1]:
        table.eat(0)
        table.eating[1] = True  # pretend the neighbour is eating
        with pytest.raises(Rude, match="at the same time"):
            table.eat(0)
    assert table.meals == [1, 0, 0] and len(table.errors) == 2


def test_table_wants_the_forks_put_back_between_meals():
    table = Table(2, strict_host=False)
    with table.forks[0], table.forks[1]:
        table.eat(0)
        with pytest.raises(Rude, match="without putting fork-0 down"):
            table.eat(0)
    for _ in range(2):  # down and up again: fine
        with table.forks[1], table.forks[0]:
            table.eat(0)
    assert table.meals == [3, 0]
    keeper = Table(2, strict_host=False, put_back=False)
    with keeper.forks[0], keeper.forks[1]:
        keeper.eat(0)
        keeper.eat(0)
    assert keeper.meals == [2, 0]


def test_a_table_for_one_has_one_fork():
    table = Table(1)
    assert (table.left(0), table.right(0), len(table.forks)) == (0, 0, 1)

    def alone(table, i, meals):
        for _ in range(meals):
            with table.forks[0]:
                table.eat(i)

    assert ds.dine(alone, 1, 4, within=5).meals == [4]
    with pytest.raises(AssertionError, match="did not end"):
        ds.dine(ordered, 1, 1, within=0.5)  # fork 0 taken twice: waits for itself
    with pytest.raises(ValueError):
        Table(0)


@pytest.mark.parametrize("n", [2, 3, 5, 10])
def test_dine_with_a_lock_order_feeds_everyone(n):
    table = ds.dine(ordered, n, 15, within=10)
    assert table.meals == [15] * n and not table.errors


@pytest.mark.parametrize("n", [2, 3, 6, 10])
def test_strict_host_makes_left_first_deadlock_every_time(n):
    started = time.monotonic()
    with pytest.raises(AssertionError, match="did not end") as info:
        ds.dine(left_first, n, 5, within=1.0)
    assert time.monotonic() - started < 3
    assert all(f"fork-{k}: held by philosopher-{k}; waiting for it: philosopher-{(k - 1) % n}" in str(info.value)
               for k in range(n)), str(info.value)


def test_strict_host_gives_up_waiting_for_philosophers_that_block_elsewhere():
    """A footman (semaphore) keeps one philosopher from any fork: the host waits only a moment."""
    footman = threading.Semaphore(3)

    def polite(table, i, meals):
        for _ in range(meals):
            with footman, table.forks[table.left(i)], table.forks[table.right(i)]:
                table.eat(i)

    started = time.monotonic()
    table = ds.dine(polite, 4, 10, within=10)
    assert table.meals == [10] * 4
    assert time.monotonic() - started < 2


def test_dine_reports_rude_and_failing_philosophers():
    def greedy(table, i, meals):
        table.eat(i)

    with pytest.raises(Rude):
        ds.dine(greedy, 3, 1, within=5)

    def broken(table, i, meals):
        raise KeyError(i)

    with pytest.raises(KeyError):
        ds.dine(broken, 2, 1, within=5)


# ------------------------------------------------------------------ StrictHost
def test_strict_host_after_the_first_lock_makes_opposite_orders_deadlock_every_time():
    for _ in range(5):
        a, b = WatchedLock("a"), WatchedLock("b")

        def both(first, second):
            return lambda: [first.acquire(), second.acquire()]

        with pytest.raises(AssertionError, match="still running"):
            ds.run_threads([both(a, b), both(b, a)], within=1, locks=[a, b], strict="acquired")
        assert a.switch is None and b.switch is None, "the host leaves when the run ends"


def test_strict_host_before_the_first_lock_lets_every_thread_arrive_first():
    lock, seen, order = WatchedLock("door"), [], []

    def guest(k):
        def go():
            seen.append(k)           # before the first lock: every guest gets here first
            with lock:
                order.append(list(seen))
        return go

    ds.run_threads([guest(k) for k in range(4)], within=5, locks=[lock], strict="acquire")
    assert all(len(s) == 4 for s in order), order


def test_strict_host_does_not_wait_for_guests_that_never_lock():
    lock = WatchedLock("x")
    started = time.monotonic()
    ds.run_threads([lambda: time.sleep(2), lambda: lock.acquire() and lock.release()],
                   within=5, locks=[lock], strict="acquired")
    assert time.monotonic() - started < 3
    with pytest.raises(ValueError):
        ds.StrictHost([lock], at="later")


def test_registry_mutex_is_a_watched_lock():
    reg = ds.reset_registry()
    assert isinstance(reg.mutex, WatchedLock)
    with reg.mutex:
        assert reg.mutex.holder is threading.current_thread()


# ------------------------------------------------------------------ run_threads, where
def test_run_threads_returns_values_reraises_and_reports_hangs():
    assert ds.run_threads([lambda: 1, lambda: 2], within=5) == [1, 2]
    with pytest.raises(ZeroDivisionError):
        ds.run_threads([lambda: 1 / 0], within=5)
    lock = WatchedLock("stuck")
    lock.acquire()
    started = time.monotonic()
    with pytest.raises(AssertionError, match="still running") as info:
        ds.run_threads([lock.acquire], within=0.3, locks=[lock], name="hung")
    assert time.monotonic() - started < 2
    assert "stuck: held by MainThread; waiting for it: hung-0" in str(info.value)
    lock.release()


def test_where_shows_the_callers_line_not_the_watched_lock():
    t1, t2, a, b = crossed(threading.Barrier(2))
    ds.deadlocked_pair(t1, t2, a, b, within=3)
    text = ds.where(t1)
    assert text.startswith("x1:") and text.endswith("with second:") and "in acquire" not in text, text
    assert "not running" in ds.where(threading.Thread(target=print))
