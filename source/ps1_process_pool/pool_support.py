"""Support code for the ps1 tests (read-only: do not edit).

Grading uses the original copy of this file.  The tests use it to look at
your pool from outside, without relying on how you built it:

* :func:`call`, :func:`result` and :func:`expect` call your pool and turn what
  goes wrong into a failure that names the rule;
* :func:`check_pids` reads ``pool.pids`` and checks it is a list of ints;
  :func:`alive` says which pids are running processes (a zombie is not);
* :func:`threads` lists this process's threads; :func:`wakeups` counts how
  often threads and processes were woken up by the OS, and :func:`runnable`
  how long they were running or ready to run (Linux: from ``/proc``), which is
  how the tests tell blocking from polling;
* :func:`forced_switches` makes thread switches happen at chosen points in
  your pool's code (see "How the tests force races" in the notebook);
* :func:`eventually` waits, bounded, for a condition.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import os
import sys
import threading
import time

try:
    import psutil
except ImportError:  # the tests that need it say so
    psutil = None

import gradelib
import tasks

__all__ = [
    "expect", "call", "result", "check_pids", "alive", "all_busy", "eventually",
    "threads", "wakeups", "runnable", "woken", "forced_switches",
]

# This module's own clock and sleep: a test may replace time.sleep for a moment.
_sleep = time.sleep
_monotonic = time.monotonic


def expect(rule, exc_type, fn, /, *args, within=10, what=None, **kwargs):
    """Assert that fn(*args, **kwargs) raises exc_type within `within` s; return the exception.

    Like gradelib.raises, with the failure message starting with `rule` and `what`.
    """
    label = f"{rule}: {what or getattr(fn, '__qualname__', fn)}"
    try:
        return gradelib.raises(exc_type, fn, *args, within=within, **kwargs)
    except gradelib.Hang:
        raise gradelib.Hang(f"{label} did not finish within {within} s: it hangs or waits forever") from None
    except AssertionError as exc:
        raise AssertionError(f"{label}: {exc}") from None


def call(rule, what, fn, /, *args, **kwargs):
    """fn(*args, **kwargs); if it raises, an AssertionError that starts with `rule` and `what`
    (the original exception, with your code's traceback, is its cause)."""
    try:
        return fn(*args, **kwargs)
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{rule}: {what} raised {type(exc).__name__}: {exc}") from exc


def result(rule, future, what, timeout=10):
    """future.result(timeout), checked: an AssertionError that starts with `rule` and `what`
    if `future` is not a concurrent.futures.Future, gives no result within `timeout` s, or raises."""
    if not isinstance(future, concurrent.futures.Future):
        raise AssertionError(f"{rule}: {what}: submit should return a concurrent.futures.Future, "
                             f"not {type(future).__name__}")
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        if not future.done():
            raise AssertionError(f"{rule}: {what}: no result within {timeout} s") from None
        raise AssertionError(f"{rule}: {what} raised TimeoutError") from None
    except Exception as exc:
        raise AssertionError(f"{rule}: {what} raised {type(exc).__name__}: {exc}") from exc


def check_pids(pool, rule="A1"):
    """pool.pids, after checking that it is a list of ints (an AssertionError naming `rule` otherwise)."""
    pids = pool.pids
    assert isinstance(pids, list) and all(isinstance(p, int) and not isinstance(p, bool) for p in pids), \
        f"{rule}: pool.pids should be a list of ints (the workers' pids), not {pids!r}"
    return pids


def alive(pids):
    """The pids among `pids` whose process exists and is not a zombie."""
    if psutil is None:
        raise RuntimeError("psutil is needed for this test")
    live = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                live.append(pid)
        except psutil.Error:
            continue
    return live


def all_busy(pool, n, rounds=5):
    """Give every worker a chance to start: run n tasks of 0.2 s at a time, until n
    different workers have taken one or after `rounds` tries.  Returns the pids seen
    (the tests that need them check them; this only waits)."""
    seen = set()
    for _ in range(rounds):
        ran = {f.result(timeout=10) for f in [pool.submit(tasks.nap, 0.2) for _ in range(n)]}
        seen |= ran
        if len(ran) == n:
            break
    return seen


def eventually(check, within=5.0, every=0.02):
    """Call check() until it returns something truthy, at most `within` s; return its last value."""
    deadline = _monotonic() + within
    while True:
        value = check()
        if value or _monotonic() > deadline:
            return value
        _sleep(every)


def threads():
    """The OS ids of this process's threads (Linux: every thread; elsewhere: Python's threads)."""
    try:
        return {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:
        return {t.native_id for t in threading.enumerate() if t.native_id is not None}


def _switches(status_path):
    with open(status_path) as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    return 0


def wakeups(tids=(), pids=()):
    """How many times each of the threads `tids` of this process, and each of the
    processes `pids` (all their threads), has been woken up so far: {"thread <tid>" or
    "process <pid>": count}; those that no longer exist are left out.  The count is the
    OS's *voluntary context switches*: each time a thread blocks (in a wait, a sleep, a
    read...) and so, later, wakes up.  A thread blocked in a call without a timeout
    adds nothing; one that sleeps or waits with a timeout in a loop adds one each time.
    None where /proc does not say (not Linux).
    """
    if not os.path.exists("/proc/self/task"):
        return None
    counts = {}
    for tid in tids:
        with contextlib.suppress(OSError, ValueError):
            counts[f"thread {tid}"] = _switches(f"/proc/self/task/{tid}/status")
    for pid in pids:
        with contextlib.suppress(OSError):
            total = 0
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError, ValueError):
                    total += _switches(f"/proc/{pid}/task/{tid}/status")
            counts[f"process {pid}"] = total
    return counts


def _runnable(schedstat_path):
    with open(schedstat_path) as f:
        on_cpu, waiting = f.read().split()[:2]
    return (int(on_cpu) + int(waiting)) / 1e9


def runnable(tids=(), pids=()):
    """How long each of the threads `tids` of this process, and each of the processes
    `pids` (all their threads), has been *runnable* so far, in seconds: running on a
    CPU or ready to run and waiting for one ({"thread <tid>" or "process <pid>": s}).
    Unlike CPU time, this does not depend on how busy the machine is: a thread that
    polls in a loop is runnable all the time, even when other programs leave it
    little CPU; a blocked thread is not runnable at all.  None where /proc does not
    say (not Linux).
    """
    if not os.path.exists("/proc/self/schedstat"):
        return None
    times = {}
    for tid in tids:
        with contextlib.suppress(OSError, ValueError):
            times[f"thread {tid}"] = _runnable(f"/proc/self/task/{tid}/schedstat")
    for pid in pids:
        with contextlib.suppress(OSError):
            total = 0.0
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError, ValueError):
                    total += _runnable(f"/proc/{pid}/task/{tid}/schedstat")
            times[f"process {pid}"] = total
    return times


def woken(before, after):
    """What changed between two readings of wakeups() or runnable(): {name: difference},
    for the names in both."""
    return {name: after[name] - before[name] for name in after if name in before}


_FUTURE_METHODS = ("__init__", "set_running_or_notify_cancel", "set_result", "set_exception")
# as they are before any test arms the switch points: what disarming puts back
_FUTURE_ORIGINALS = {name: concurrent.futures.Future.__dict__[name] for name in _FUTURE_METHODS}
_MAKERS = {"Lock": threading.Lock, "RLock": threading.RLock, "Condition": threading.Condition}
_Event, _Lock, _Thread = threading.Event, threading.Lock, threading.Thread


class _SwitchingLock:
    """A ``threading.Lock`` or ``RLock`` with a switch point (``"lock"``) before each acquire."""

    def __init__(self, lock):
        self._lock = lock

    def acquire(self, blocking=True, timeout=-1):
        gradelib.switch_point("lock")
        return self._lock.acquire(blocking, timeout)

    def release(self):
        self._lock.release()

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self._lock.release()

    def __getattr__(self, name):  # locked(), and what Condition uses of an RLock
        return getattr(self._lock, name)

    def __repr__(self):
        return f"<switching {self._lock!r}>"


def _switching_maker(name, make, make_rlock):
    """threading.Lock, RLock or Condition (`make`), whose locks have a switch point when made by
    code outside the threading module (not a Thread's or an Event's own); `make_rlock` is the
    original RLock, for a Condition made without a lock."""
    def maker(*args, **kwargs):
        if sys._getframe(1).f_globals.get("__name__") == "threading":
            return make(*args, **kwargs)
        if name == "Condition":
            lock = args[0] if args else kwargs.pop("lock", None)
            return make(_SwitchingLock(make_rlock()) if lock is None else lock, *args[1:], **kwargs)
        return _SwitchingLock(make(*args, **kwargs))

    return maker


@contextlib.contextmanager
def forced_switches(action=gradelib.pause, *, locks=False, at_most=8.0):
    """Thread switches where races hide, for the duration of the block.

    Arms ``gradelib.switch_points(action)``: threads switch every few bytecodes
    (``sys.setswitchinterval`` at its minimum), and at every switch point
    ``action(where, ...)`` runs (by default: a 1 ms pause, so that another thread
    runs).  The switch points: sending a ``tasks.Baton`` to a worker (``"send"``)
    or receiving one back (``"receive"``) in this process, and creating a
    ``concurrent.futures.Future``, marking it running, setting its result or its
    exception (``"Future.__init__"``, ``"Future.set_result"``, ...).  With
    ``locks=True``, also before each acquire of a lock that code outside the
    ``threading`` module makes in the block with ``threading.Lock()``,
    ``threading.RLock()`` or ``threading.Condition()`` (``"lock"``; a ``queue.Queue``
    made there has one too): a pool made in the block takes its locks at switch points.

    The switch points stay armed at most ``at_most`` seconds: then they are disarmed
    (``Future`` and ``threading`` as they were, the switch interval too) even if the
    block has not ended, so that a pool that hangs in the block cannot leave them
    armed after its test has given up on it.
    """
    def switching(name, method):
        where = f"Future.{name}"

        def wrapper(*args, **kwargs):
            gradelib.switch_point(where)
            return method(*args, **kwargs)
        wrapper.__wrapped__ = method
        return wrapper

    armed, ended, once = [True], _Event(), _Lock()
    interval = sys.getswitchinterval()

    def disarm():
        with once:
            if not armed[0]:
                return
            armed[0] = False
            for name, method in _FUTURE_ORIGINALS.items():
                setattr(concurrent.futures.Future, name, method)
            for name, make in _MAKERS.items():
                setattr(threading, name, make)
            sys.setswitchinterval(interval)

    def act(where, *details):
        if armed[0]:
            action(where, *details)

    def watch():
        if not ended.wait(at_most):
            disarm()

    watchdog = _Thread(target=watch, name="bounded: forced_switches watchdog", daemon=True)
    with gradelib.switch_points(act):
        for name, method in _FUTURE_ORIGINALS.items():
            setattr(concurrent.futures.Future, name, switching(name, method))
        if locks:
            for name, make in _MAKERS.items():
                setattr(threading, name, _switching_maker(name, make, _MAKERS["RLock"]))
        watchdog.start()
        try:
            yield
        finally:
            ended.set()
            disarm()
