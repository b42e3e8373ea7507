"""Task functions for the ps1 tests and examples (read-only: do not edit).

They live in a module, not in the notebook, because a worker started with the
*spawn* or *forkserver* method receives a function by name (module + function)
and must import it: a function defined in a notebook cell lives in
``__main__``, which such a worker cannot import.
"""
import builtins
import os
import signal
import time

MARK = "as imported"   # the tests change it in the parent to see who inherits it


def square(x):
    return x * x


def add(a, b=0):
    return a + b


def echo(*args, **kwargs):
    """Return what it was called with (checks that keywords such as fn= get through)."""
    return args, kwargs


def whoami(_=None):
    """Return the pid of the process that ran the task."""
    return os.getpid()


def mark(_=None):
    """Return MARK as the worker sees it: inherited from the parent only under fork."""
    return MARK


def nap(seconds):
    """Sleep, then return the pid that slept."""
    time.sleep(seconds)
    return os.getpid()


def nap_echo(item):
    """item = (seconds, value): sleep, then return (value, pid)."""
    seconds, value = item
    time.sleep(seconds)
    return value, os.getpid()


def fail(message, kind="ValueError"):
    """Raise the built-in exception named kind (ValueError, KeyError, ...) with message."""
    raise getattr(builtins, kind)(message)


def fail_on(x, bad=(3, 7), slow=(3,)):
    """Return x, but raise KeyError(x) for x in bad; items in slow sleep 0.3 s first."""
    if x in slow:
        time.sleep(0.3)
    if x in bad:
        raise KeyError(x)
    return x


def _refuse_in_parent(what):
    """The notebook records its own pid in PS1_PARENT_PID; children inherit it.

    A pool that wrongly runs tasks in the notebook's own process would kill the
    kernel with die(); it gets this error instead.
    """
    if str(os.getpid()) == os.environ.get("PS1_PARENT_PID"):
        raise RuntimeError(f"{what} was called in the notebook's own process: tasks must run in the workers")


def die(code=3):
    """The worker exits at once, without cleanup, in the middle of the task."""
    _refuse_in_parent("die()")
    os._exit(code)


def die_hard(_=None):
    """The worker is killed by SIGKILL (os._exit where there is no SIGKILL)."""
    _refuse_in_parent("die_hard()")
    if hasattr(signal, "SIGKILL"):
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(10)
    os._exit(9)


def tiny(x):
    """Almost no work: for measuring a pool's own overhead."""
    return x + 1
