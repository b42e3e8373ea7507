"""Helpers for the autograded tests (read-only: do not edit).

The same file ships with every assignment of the course (the test suite checks
that the copies are identical).  The tests call student code through
``bounded`` so that code that hangs or deadlocks loses the points of that test
within seconds, and the rest of the notebook is still graded.
"""
import os
import threading
import time

try:
    import psutil
except ImportError:  # the tests that need it say so
    psutil = None


class Hang(AssertionError):
    """Student code did not finish within the time the test allows."""


def bounded(fn, *args, within, what=None, **kwargs):
    """Call fn(*args, **kwargs) in a daemon thread and wait at most `within` seconds.

    Returns fn's value or re-raises its exception.  If fn is still running after
    `within` seconds, raises Hang (an AssertionError) naming `what`; the
    thread is a daemon, so it cannot keep the kernel alive.
    """
    box = {}

    def run():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"bounded:{what or getattr(fn, '__name__', 'call')}", daemon=True)
    thread.start()
    thread.join(within)
    if thread.is_alive():
        label = what or f"{getattr(fn, '__qualname__', fn)}()"
        raise Hang(f"{label} did not finish within {within} s: it hangs, deadlocks or waits forever")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def raises(exc_type, fn, *args, within=10, **kwargs):
    """Assert that fn(*args, **kwargs) raises exc_type within `within` s; return the exception."""
    try:
        bounded(fn, *args, within=within, **kwargs)
    except Hang:
        raise
    except exc_type as exc:
        return exc
    except BaseException as exc:
        raise AssertionError(
            f"expected {exc_type.__name__}, but {type(exc).__name__}: {exc} was raised"
        ) from None
    raise AssertionError(f"expected {exc_type.__name__}, but nothing was raised")


def cpu_seconds(pids=()):
    """CPU time (user + system) used so far by this process and by the given pids."""
    if psutil is None:
        raise RuntimeError("psutil is needed for this test")
    total = 0.0
    for pid in (os.getpid(), *pids):
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def cpu_during(seconds, fn=None, pids=()):
    """CPU seconds this process (and pids) burn while fn runs, or while idle for `seconds`."""
    before = cpu_seconds(pids)
    if fn is None:
        time.sleep(seconds)
    else:
        bounded(fn, within=seconds)
    return cpu_seconds(pids) - before


def lingering(pids):
    """The pids among `pids` that still exist, as {pid: status} (a zombie says 'zombie')."""
    if psutil is None:
        raise RuntimeError("psutil is needed for this test")
    left = {}
    for pid in pids:
        try:
            left[pid] = psutil.Process(pid).status()
        except psutil.Error:
            continue
    return left
