"""Unit tests of ps1_process_pool's shipped modules used by its tests: pool_support.py,
and the parts of tasks.py that the tests lean on (Baton's switch points, probe, relay, unpicklable).

The notebook's hidden tests measure a student's pool from outside with these
helpers (pids, liveness, wake-ups, forced thread switches), so a helper that
lies would make a grade lie: each is checked here against something whose
answer is known.
"""
import concurrent.futures
import multiprocessing
import os
import pickle
import select
import subprocess
import sys
import threading
import time

import pytest

from support import wait_until
from tools.assignments import SOURCE

sys.path.insert(0, str(SOURCE / "ps1_process_pool"))

import gradelib  # noqa: E402
import pool_support  # noqa: E402
import tasks  # noqa: E402

LINUX_PROC = os.path.exists("/proc/self/task")


class FakePool:
    def __init__(self, pids):
        self.pids = pids


# ------------------------------------------------------------------ expect
def test_expect_returns_the_exception():
    exc = pool_support.expect("X1", KeyError, tasks.fail, "k", "KeyError", within=5)
    assert isinstance(exc, KeyError) and exc.args == ("k",)


def test_expect_names_the_rule_when_nothing_or_something_else_is_raised():
    with pytest.raises(AssertionError, match=r"^X2: calling square: expected ValueError, but nothing was raised"):
        pool_support.expect("X2", ValueError, tasks.square, 3, within=5, what="calling square")
    with pytest.raises(AssertionError, match=r"^X3: .*expected ValueError, but KeyError"):
        pool_support.expect("X3", ValueError, tasks.fail, "k", "KeyError", within=5)


def test_expect_names_the_rule_of_a_hang():
    with pytest.raises(gradelib.Hang, match=r"^X4: a nap did not finish within 0.2 s"):
        pool_support.expect("X4", ValueError, time.sleep, 2, within=0.2, what="a nap")


# ------------------------------------------------------------------ pids
def test_check_pids_accepts_a_list_of_ints_only():
    assert pool_support.check_pids(FakePool([1, 2])) == [1, 2]
    assert pool_support.check_pids(FakePool([])) == []
    for bad in (None, (1, 2), [1, None], [True], {1, 2}, "12"):
        with pytest.raises(AssertionError, match=r"^E2: pool.pids should be a list of ints"):
            pool_support.check_pids(FakePool(bad), "E2")


def test_alive_tells_running_from_zombie_and_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    assert pool_support.eventually(lambda: child.pid not in pool_support.alive([child.pid]), 10), \
        "an exited, unreaped child is a zombie: not alive"
    assert gradelib.lingering([child.pid]) == {child.pid: "zombie"}
    child.wait(10)
    assert pool_support.alive([child.pid, os.getpid()]) == [os.getpid()]


def test_eventually_returns_the_first_truthy_value_or_the_last():
    calls = []

    def third():
        calls.append(1)
        return len(calls) if len(calls) >= 3 else 0

    assert pool_support.eventually(third, within=5, every=0.001) == 3
    started = time.monotonic()
    assert pool_support.eventually(lambda: [], within=0.1, every=0.01) == []
    assert time.monotonic() - started >= 0.1


def test_all_busy_waits_until_every_worker_took_a_task():
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as executor:
        pids = pool_support.all_busy(executor, 2)
        assert len(pids) == 2 and os.getpid() not in pids
        assert pids <= {p.pid for p in executor._processes.values()}


# ------------------------------------------------------------------ threads and wake-ups
def test_call_and_result_name_the_rule():
    assert pool_support.call("X5", "adding", tasks.add, 1, b=2) == 3
    with pytest.raises(AssertionError, match=r"^X5: adding raised TypeError") as info:
        pool_support.call("X5", "adding", tasks.add, 1, c=2)
    assert isinstance(info.value.__cause__, TypeError)
    done = concurrent.futures.Future()
    done.set_result(4)
    assert pool_support.result("X6", done, "a result") == 4
    with pytest.raises(AssertionError, match=r"^X6: a result: submit should return a concurrent.futures.Future, not int"):
        pool_support.result("X6", 4, "a result")
    with pytest.raises(AssertionError, match=r"^X6: a result: no result within 0.05 s"):
        pool_support.result("X6", concurrent.futures.Future(), "a result", timeout=0.05)
    failed = concurrent.futures.Future()
    failed.set_exception(KeyError("k"))
    with pytest.raises(AssertionError, match=r"^X6: a result raised KeyError: 'k'"):
        pool_support.result("X6", failed, "a result")


def test_threads_lists_a_new_thread():
    stop = threading.Event()
    before = pool_support.threads()
    t = threading.Thread(target=stop.wait, daemon=True)
    t.start()
    try:
        assert pool_support.threads() - before == {t.native_id}
    finally:
        stop.set()
        t.join(5)


@pytest.mark.skipif(not LINUX_PROC, reason="wake-ups are counted from /proc (Linux)")
def test_wakeups_tell_a_blocked_thread_from_a_polling_one():
    """Each poll is a wake-up; a thread blocked without a timeout, or a sleeping process, has
    none.  Counted against the polls the thread really made (on a loaded machine it makes
    fewer than one per 10 ms), once the blocked thread and the sleeper are parked."""
    stop, started, polls = threading.Event(), threading.Event(), [0]

    def block():
        started.set()
        stop.wait()

    def poll():
        while not stop.is_set():
            time.sleep(0.01)
            polls[0] += 1

    blocked = threading.Thread(target=block, daemon=True)
    polling = threading.Thread(target=poll, daemon=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"],
                               stdout=subprocess.PIPE, text=True)
    blocked.start()
    polling.start()
    try:
        assert select.select([sleeper.stdout], [], [], 30)[0] and sleeper.stdout.readline() == "ready\n"
        assert started.wait(30)
        names = {f"thread {blocked.native_id}": "blocked", f"thread {polling.native_id}": "polling",
                 f"process {sleeper.pid}": "sleeper"}
        parked = [f"thread {blocked.native_id}", f"process {sleeper.pid}"]

        def count():
            return pool_support.wakeups([blocked.native_id, polling.native_id], [sleeper.pid])

        def settled():  # the blocked thread and the sleeper no longer wake: a snapshot to count from
            first = count()
            time.sleep(0.1)
            then = count()
            return then if all(first[k] == then[k] for k in parked) else None

        before = wait_until(settled, 30, "the blocked thread and the sleeper to be parked", interval=0)
        polled = polls[0]
        wait_until(lambda: polls[0] - polled >= 20, 30, "20 polls")
        polled = polls[0] - polled  # (read before the second count: it counts every one of them)
        woken = {names[k]: v for k, v in pool_support.woken(before, count()).items()}
        assert woken["blocked"] <= 1 and woken["sleeper"] <= 1, woken
        assert woken["polling"] >= polled - 1, (woken, polled)
    finally:
        stop.set()
        sleeper.kill()
        sleeper.wait(10)
        blocked.join(5)
        polling.join(5)


@pytest.mark.skipif(not LINUX_PROC, reason="runnable time is read from /proc (Linux)")
def test_runnable_counts_a_spinning_thread_whatever_cpu_it_gets():
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            pass

    blocked = threading.Thread(target=stop.wait, daemon=True)
    spinning = threading.Thread(target=spin, daemon=True)
    blocked.start()
    spinning.start()
    try:
        tids = [blocked.native_id, spinning.native_id]
        before = pool_support.runnable(tids)
        started = time.monotonic()
        time.sleep(0.5)
        busy = pool_support.woken(before, pool_support.runnable(tids))
        elapsed = time.monotonic() - started
        assert busy[f"thread {blocked.native_id}"] < 0.05, busy
        # the spinner shares the GIL with this thread, and the CPUs with everything else,
        # but it is running or ready to run all the time
        assert busy[f"thread {spinning.native_id}"] > 0.8 * elapsed, (busy, elapsed)
    finally:
        stop.set()
        spinning.join(5)
        blocked.join(5)


@pytest.mark.skipif(not LINUX_PROC, reason="wake-ups are counted from /proc (Linux)")
def test_wakeups_leave_out_what_no_longer_exists():
    assert pool_support.wakeups([2**31 - 1], [2**31 - 1]) == {}
    assert pool_support.runnable([2**31 - 1], [2**31 - 1]) == {}
    assert pool_support.woken({"a": 1, "b": 5}, {"b": 7, "c": 1}) == {"b": 2}


# ------------------------------------------------------------------ forced switches and Baton
@pytest.fixture
def in_parent(monkeypatch):
    monkeypatch.setenv("PS1_PARENT_PID", str(os.getpid()))


def test_forced_switches_arm_the_future_and_baton_switch_points(in_parent):
    seen = []
    interval = sys.getswitchinterval()
    original = concurrent.futures.Future.set_result
    with pool_support.forced_switches(lambda where, *details: seen.append((where, *details))):
        assert sys.getswitchinterval() < interval
        f = concurrent.futures.Future()
        f.set_running_or_notify_cancel()
        f.set_result(1)
        g = concurrent.futures.Future()
        g.set_exception(KeyError("k"))
        data = pickle.dumps(tasks.Baton(7))
        back = pickle.loads(data)
    assert [w for w, *_ in seen] == ["Future.__init__", "Future.set_running_or_notify_cancel", "Future.set_result",
                                     "Future.__init__", "Future.set_exception", "send", "receive"]
    assert ("send", 7) in seen and ("receive", 7) in seen
    assert back == tasks.Baton(7) and f.result() == 1 and isinstance(g.exception(), KeyError)
    assert concurrent.futures.Future.set_result is original, "the Future methods are restored"
    assert sys.getswitchinterval() == interval
    seen.clear()
    pickle.loads(pickle.dumps(tasks.Baton(8)))
    concurrent.futures.Future().set_result(2)
    assert seen == [], "outside the block no switch point acts"


def test_forced_switches_restore_everything_after_an_error(in_parent):
    original = concurrent.futures.Future.__init__
    interval = sys.getswitchinterval()
    with pytest.raises(RuntimeError):
        with pool_support.forced_switches():
            raise RuntimeError("boom")
    assert concurrent.futures.Future.__init__ is original and sys.getswitchinterval() == interval


def test_forced_switches_disarm_by_themselves_when_the_block_outlives_at_most(in_parent):
    """A test that gives up on a hung pool leaves its thread inside the block: the switch points
    must not stay armed into the next test cell (the grader would see Future and threading
    replaced there)."""
    originals = {name: concurrent.futures.Future.__dict__[name] for name in pool_support._FUTURE_METHODS}
    makers = {name: getattr(threading, name) for name in ("Lock", "RLock", "Condition")}
    interval = sys.getswitchinterval()
    seen, inside, leave = [], threading.Event(), threading.Event()

    def hung_test():
        with pool_support.forced_switches(lambda where, *details: seen.append(where), locks=True, at_most=0.5):
            inside.set()
            leave.wait(10)  # a pool that never returns

    stuck = threading.Thread(target=hung_test, daemon=True)
    stuck.start()
    try:
        assert inside.wait(5)
        assert concurrent.futures.Future.__init__ is not originals["__init__"], "armed at first"
        assert pool_support.eventually(lambda: concurrent.futures.Future.__init__ is originals["__init__"], 3), \
            "0.5 s later the block should be disarmed, though it has not ended"
        assert {n: concurrent.futures.Future.__dict__[n] for n in originals} == originals
        assert {n: getattr(threading, n) for n in makers} == makers
        assert sys.getswitchinterval() == interval
        seen.clear()
        gradelib.switch_point("send")
        assert seen == [], "a disarmed block's action no longer runs"
    finally:
        leave.set()
        stuck.join(10)
    assert {n: concurrent.futures.Future.__dict__[n] for n in originals} == originals
    assert {n: getattr(threading, n) for n in makers} == makers and sys.getswitchinterval() == interval


def test_forced_switches_with_locks_put_a_switch_point_before_each_acquire_of_a_lock_made_there(in_parent):
    import queue
    import threading

    made = {name: getattr(threading, name) for name in ("Lock", "RLock", "Condition")}
    seen = []
    with pool_support.forced_switches(lambda where, *details: seen.append(where), locks=True):
        lock, rlock, cond, q = threading.Lock(), threading.RLock(), threading.Condition(), queue.Queue()
        event = threading.Event()          # threading's own lock: no switch point
        thread = threading.Thread(target=event.set)
        seen.clear()
        thread.start()
        thread.join(5)
        assert event.is_set() and seen == [], seen
        with lock:
            assert lock.locked()
        assert rlock.acquire() and rlock.acquire(timeout=1)   # still re-entrant
        rlock.release()
        rlock.release()
        with cond:
            cond.notify_all()
            assert not cond.wait(0.01)     # a Condition still works on the wrapped RLock
        q.put(1)
        assert q.get(timeout=1) == 1
        assert seen.count("lock") >= 5, seen
        seen.clear()
    plain = threading.Lock()
    assert {name: getattr(threading, name) for name in made} == made, "threading's makers are restored"
    with lock:                             # made in the block: its switch point does nothing now
        pass
    with plain:
        pass
    assert seen == []


def test_baton_has_no_switch_points_outside_the_notebook_process(monkeypatch):
    monkeypatch.setenv("PS1_PARENT_PID", str(os.getpid() + 1))  # as in a worker
    seen = []
    with pool_support.forced_switches(lambda where, *details: seen.append(where)):
        pickle.loads(pickle.dumps(tasks.Baton(1)))
    assert seen == []


def test_baton_is_a_value():
    assert tasks.Baton(1) == tasks.Baton(1) != tasks.Baton(2)
    assert tasks.Baton((1, 2)) != (1, 2)
    assert {tasks.Baton(3): 1}[tasks.Baton(3)] == 1
    assert repr(tasks.Baton("x")) == "Baton('x')"
    assert tasks.relay(tasks.Baton(4)) == tasks.Baton(4)


def test_baton_crosses_to_a_spawned_worker_and_back(in_parent):
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as executor:
        assert executor.submit(tasks.relay, tasks.Baton((1, "a"))).result(timeout=60) == tasks.Baton((1, "a"))


# ------------------------------------------------------------------ task helpers
def test_probe_squares_sleeps_or_fails():
    assert tasks.probe((7, False, 0)) == 49
    started = time.monotonic()
    assert tasks.probe((-3, False, 0.05)) == 9
    assert time.monotonic() - started >= 0.05
    with pytest.raises(KeyError) as info:
        tasks.probe((5, True, 0))
    assert info.value.args == (5,)


def test_unpicklable_gives_a_value_or_raises_an_exception_that_cannot_be_pickled():
    value = tasks.unpicklable()
    with pytest.raises(TypeError):
        pickle.dumps(value)
    with pytest.raises(tasks.Unpicklable) as info:
        tasks.unpicklable("exception")
    assert info.value.args == ("this exception holds a lock",)
    with pytest.raises(TypeError):
        pickle.dumps(info.value)
