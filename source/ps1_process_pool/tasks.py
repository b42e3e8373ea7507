"""Task functions for the ps1 tests and examples (read-only: do not edit).

They live in a module, not in the notebook, because a worker started with the
*spawn* or *forkserver* method receives a function by name (module + function)
and must import it: a function defined in a notebook cell lives in
``__main__``, which such a worker cannot import.
"""
import builtins
import os
import signal
import threading
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


class Unpicklable(Exception):
    """An exception that cannot be pickled: it holds a lock."""

    def __init__(self, message):
        super().__init__(message)
        self.lock = threading.Lock()


def unpicklable(kind="value"):
    """Return (kind="value") or raise (kind="exception") something that cannot be pickled: it holds a lock."""
    if kind == "exception":
        raise Unpicklable("this exception holds a lock")
    return threading.Lock()


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


def probe(item):
    """item = (x, fails, delay): sleep delay s; then raise KeyError(x) if fails, else return x * x."""
    x, fails, delay = item
    if delay:
        time.sleep(delay)
    if fails:
        raise KeyError(x)
    return x * x


def _in_parent():
    return str(os.getpid()) == os.environ.get("PS1_PARENT_PID")


def _switch(where, value):
    if _in_parent():
        import gradelib  # only in the notebook's process: workers don't need it
        gradelib.switch_point(where, value)


class Baton:
    """A small value with switch points where it crosses a pipe.

    Pickling a Baton in the notebook's process (your pool sending it to a
    worker) is the switch point ``"send"``, and unpickling one there (a result
    coming back) is ``"receive"`` (see ``gradelib.switch_point``): when a test
    arms them, other threads run at exactly these moments, in the middle of
    your pool's own code.  Otherwise, and in a worker, it is a plain value.
    """

    def __init__(self, value):
        self.value = value

    def __reduce__(self):
        _switch("send", self.value)
        return _arrive, (self.value,)

    def __eq__(self, other):
        return isinstance(other, Baton) and other.value == self.value

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return f"Baton({self.value!r})"


def _arrive(value):
    _switch("receive", value)
    return Baton(value)


def relay(baton):
    """Return a new Baton with the same value (so the result crosses a pipe as a Baton too)."""
    return Baton(baton.value)
