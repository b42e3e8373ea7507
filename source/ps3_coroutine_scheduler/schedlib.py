"""Helpers for the ps3 tests and examples (read-only: do not edit).

* ``bounded`` / ``run_within``: run a call (your ``Scheduler.run``) with a time
  limit, like ``gradelib.bounded``; a call that is still running when the limit
  passes is *stopped* (interrupted, as the kernel's own interrupt would), so a
  scheduler that spins forever in one test does not keep burning CPU during the
  next ones.
  ``run_within`` also turns an exception that leaves ``run()`` into a failure
  that says where it was raised.
* ``value_of``: a task's result, or an assertion that says how it failed.
* ``coarse_clock``: make ``time.monotonic()`` tick in steps, as it does on some
  systems (15.6 ms on older Windows Pythons), so that deadlines really tie.
* ``counting``: count the calls of ``time.monotonic()``, ``time.sleep()`` and
  the selector's ``select()`` that a scheduler makes while it runs: a scheduler
  that blocks makes a few, one that polls makes many.
* ``sleep_plan``: run tasks that sleep as a plan says, and report when each
  asked and when it woke; ``check_timing_property`` runs the property-based
  tests of ``Sleep`` built on it.
* ``later``: call a function from another thread after a delay (data that
  arrives on a socket while every task waits).
* ``Loopback``: an echo server and its clients, written as generator tasks
  that use ``ReadWait``/``WriteWait``; every socket is non-blocking, on
  127.0.0.1, and closed at the end.
* ``asyncio_switches`` / ``scheduler_switches``: the benchmark's two workloads.
"""
import _thread
import asyncio
import collections
import contextlib
import errno
import os
import selectors
import socket
import threading
import time
import traceback
import types
from unittest import mock

import gradelib
from syscalls import ReadWait, Sleep, Spawn, WriteWait


_RUNNING = {}  # thread ident -> the calls of `bounded` it is running right now, innermost last
_HERE = os.path.normcase(os.path.abspath(__file__))


def bounded(fn, *args, within, what=None, **kwargs):
    """gradelib.bounded(fn, ...), and stop fn if it runs past `within` seconds.

    In the notebook's main thread, fn runs right there, and a watchdog thread
    interrupts it (KeyboardInterrupt, as the kernel's own interrupt does) once
    the time is up; the interrupt becomes gradelib.Hang.  A scheduler that
    spins is stopped where it is; one blocked in a system call with no timeout
    is stopped when the call returns (it burns no CPU meanwhile).  A scheduler
    that catches BaseException and goes on ignores the interrupt, as it would
    ignore the kernel's: the cell's own time limit then stops the kernel.
    (Elsewhere fn runs in a thread of gradelib.bounded, which cannot stop it.)
    """
    __tracebackhide__ = True  # IPython leaves this helper's frames out of tracebacks
    label = what or f"{getattr(fn, '__qualname__', fn)}()"

    def call():
        __tracebackhide__ = True
        ident, token = threading.get_ident(), object()
        _RUNNING.setdefault(ident, []).append(token)
        try:
            return fn(*args, **kwargs)
        finally:
            stack = _RUNNING.get(ident, [])
            if token in stack:
                stack.remove(token)
            if not stack:
                _RUNNING.pop(ident, None)

    if threading.current_thread() is not threading.main_thread():
        try:
            return gradelib.bounded(call, within=within, what=label)
        except BaseException as exc:
            raise exc.with_traceback(_without_helpers(exc.__traceback__))
    done, fired, lock = threading.Event(), [], threading.Lock()

    def watchdog():
        if done.wait(within):
            return
        while True:
            with lock:
                if done.is_set():
                    return
                fired.append(True)
                _thread.interrupt_main()
            if done.wait(0.1):
                return

    threading.Thread(target=watchdog, name=f"schedlib.bounded:{label}", daemon=True).start()
    finished, value = False, None
    try:
        try:
            value = call()
            finished = True
        finally:
            with lock:  # from here on the watchdog interrupts no more
                done.set()
            for _ in range(3):
                pass  # (an interrupt the watchdog had already sent arrives here, at the latest)
    except KeyboardInterrupt as exc:
        if not fired:
            raise  # the kernel's own interrupt (the cell's time ran out): not ours
        if finished:
            return value  # it finished just as its time ran out
        raise gradelib.Hang(f"{label} did not finish within {within} s: it hangs, spins or waits "
                            "forever (it was stopped)").with_traceback(_without_helpers(exc.__traceback__)) from None
    except BaseException as exc:
        raise exc.with_traceback(_without_helpers(exc.__traceback__))
    return value


def _without_helpers(tb):
    """The traceback `tb` less the entries of this module's frames (the wrappers)."""
    entries = []
    while tb is not None:
        if os.path.normcase(os.path.abspath(tb.tb_frame.f_code.co_filename)) != _HERE:
            entries.append((tb.tb_frame, tb.tb_lasti, tb.tb_lineno))
        tb = tb.tb_next
    out = None
    for frame, lasti, lineno in reversed(entries):
        out = types.TracebackType(out, frame, lasti, lineno)
    return out


def where(exc):
    """' (raised in f(), line n: source)' for the innermost frame of exc's traceback, or ''."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    frame = frames[-1]
    line = f": {frame.line.strip()}" if frame.line else ""
    return f" (raised in {frame.name}(), line {frame.lineno}{line})"


def run_within(scheduler, within=5, what="Scheduler.run()"):
    """scheduler.run() with a time limit.

    Raises gradelib.Hang if it does not return in time, and an AssertionError
    that says what was raised where if an exception leaves run().
    """
    __tracebackhide__ = True
    try:
        return bounded(scheduler.run, within=within, what=what)
    except gradelib.Hang:
        raise
    except Exception as exc:
        hint = ""
        if isinstance(exc, BlockingIOError):
            hint = " A BlockingIOError in a task means it was resumed before its socket was ready (D1)."
        failure = AssertionError(
            f"{what} raised {type(exc).__name__}: {exc}{where(exc)}. An exception raised in a task must "
            f"not leave run(): it is the outcome of that task (E1).{hint}")
        tb, exc = _without_helpers(exc.__traceback__), None  # the traceback ends where it was raised
        raise failure.with_traceback(tb) from None


def value_of(scheduler, tid, what="task"):
    """scheduler.result(tid), or an AssertionError that says how the task failed."""
    __tracebackhide__ = True
    try:
        return scheduler.result(tid)
    except Exception as exc:
        failure = AssertionError(f"{what} (tid {tid!r}) did not return a value: result() raised {exc!r}")
        tb, exc = _without_helpers(exc.__traceback__), None  # the traceback ends where it was raised
        raise failure.with_traceback(tb) from None


class Calls(collections.Counter):
    """How many times each counted function was called: {name: count}."""

    @property
    def total(self):
        return sum(self.values())

    def __str__(self):
        return ", ".join(f"{name} {n} times" for name, n in sorted(self.items())) or "no calls"


@contextlib.contextmanager
def counting():
    """Count the calls of time.monotonic(), time.sleep() and selectors.DefaultSelector().select().

    Only calls made inside a `bounded` call that starts within the block (by
    the scheduler and its tasks, in run_within) are counted: not those of a
    runaway scheduler of an earlier check that could not be stopped.  Yields
    a Calls counter, updated as the calls happen.  A selector counts only if
    it is made inside the block.
    """
    calls = Calls()
    real_monotonic, real_sleep = time.monotonic, time.sleep
    earlier = {token for stack in list(_RUNNING.values()) for token in stack}

    def count(name):
        stack = _RUNNING.get(threading.get_ident())
        if stack and stack[-1] not in earlier:
            calls[name] += 1

    def monotonic():
        count("time.monotonic()")
        return real_monotonic()

    def sleep(seconds):
        count("time.sleep()")
        return real_sleep(seconds)

    class CountingSelector(selectors.DefaultSelector):
        def select(self, timeout=None):
            count("select()")
            return super().select(timeout)

    with mock.patch("time.monotonic", monotonic), mock.patch("time.sleep", sleep), \
            mock.patch("selectors.DefaultSelector", CountingSelector):
        yield calls


def raises(exc_type, what, fn, *args):
    """fn(*args) must raise exc_type: returns the exception, or fails saying what `what` should do."""
    __tracebackhide__ = True
    try:
        value = fn(*args)
    except exc_type as exc:
        return exc
    except Exception as exc:
        raise AssertionError(f"{what} should raise {exc_type.__name__}, not {type(exc).__name__}: {exc}") from None
    raise AssertionError(f"{what} should raise {exc_type.__name__}, but it returned {value!r}")


@contextlib.contextmanager
def coarse_clock(step=0.1):
    """Within the block, time.monotonic() advances in steps of `step` seconds.

    The block starts just after a step, so that requests made in the next few
    milliseconds all read the same time: equal sleeps then have equal deadlines.
    """
    real = time.monotonic
    time.sleep(step - real() % step + 0.002)
    with mock.patch("time.monotonic", lambda: real() // step * step):
        yield


Wake = collections.namedtuple("Wake", "task step seconds asked woke next_reading")


def sleep_plan(scheduler_class, plan, within=5):
    """Run one task per entry of `plan` and return their Wake records, in the order they woke.

    Each entry is a list of steps: None is a bare yield, "work" keeps the
    thread busy for 5 ms and then yields, a number is a Sleep of that many
    seconds.  Every task reads time.monotonic() each time it runs;
    for each Sleep it records `asked` (the reading just before its yield),
    `woke` (just after) and `next_reading`: the first reading, by any task,
    after it asked (the scheduler took the request in between).
    """
    readings, wakes = [], []

    def task(index, steps):
        readings.append(time.monotonic())
        for step_index, step in enumerate(steps):
            if step is None or step == "work":
                if step == "work":
                    busy_until = time.monotonic() + 0.005
                    while time.monotonic() < busy_until:
                        pass            # keeps the thread: deadlines pass meanwhile
                yield
                readings.append(time.monotonic())
                continue
            asked = time.monotonic()
            readings.append(asked)
            mark = len(readings)
            yield Sleep(step)
            woke = time.monotonic()
            readings.append(woke)
            wakes.append((index, step_index, step, asked, woke, mark))

    scheduler = scheduler_class()
    for index, steps in enumerate(plan):
        scheduler.spawn(task(index, steps))
    run_within(scheduler, within=within, what=f"run() with tasks that sleep as planned: {plan}")
    return [Wake(i, k, s, asked, woke, readings[mark] if mark < len(readings) else woke)
            for i, k, s, asked, woke, mark in wakes]


def check_timing_property(test, within, what):
    """gradelib.check_property(test, ...) for a property about timing.

    The checks of such a property only assert what a correct scheduler
    guarantees, so one failing example is a failure, even if hypothesis finds
    that the example passes when it tries it again (a late or early wake-up
    depends on the moment): the first failure's own message is raised, not
    hypothesis's FlakyFailure.
    """
    __tracebackhide__ = True
    from hypothesis.errors import FlakyFailure

    try:
        return gradelib.check_property(test, within=within, what=what)
    except FlakyFailure as group:
        first = group.exceptions[0]
        while isinstance(first, BaseExceptionGroup) and first.exceptions:
            first = first.exceptions[0]
        group = None
        raise first.with_traceback(_without_helpers(first.__traceback__)) from None


def close_quietly(*coros):
    """Close generators or coroutines a test made, ignoring what they raise.

    A task that a scheduler failed to close would otherwise be closed when it
    is garbage collected, and an error in its finally block would then be
    printed on stderr, perhaps while another test cell runs.
    """
    for coro in coros:
        with contextlib.suppress(Exception):
            coro.close()


@contextlib.contextmanager
def later(seconds, fn, *args):
    """Within the block, call fn(*args) from a daemon thread `seconds` from now.

    The call is cancelled if the block ends first; an OSError it raises (the
    socket was closed meanwhile) is ignored.
    """
    def call():
        with contextlib.suppress(OSError):
            fn(*args)

    timer = threading.Timer(seconds, call)
    timer.daemon = True
    timer.start()
    try:
        yield timer
    finally:
        timer.cancel()


# --------------------------------------------------------------------------------------
# An echo server and its clients on loopback, as generator tasks.
# Each one waits *first* (ReadWait/WriteWait) and then acts: a scheduler that resumes
# a task before its socket is ready makes the task fail with BlockingIOError.

_IN_PROGRESS = {0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, 10035}  # 10035: WSAEWOULDBLOCK


class Loopback:
    """Echo server and clients on 127.0.0.1; use as a context manager (closes every socket)."""

    def __init__(self):
        self.sockets = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self.sockets.clear()

    def _own(self, sock):
        sock.setblocking(False)
        self.sockets.append(sock)
        return sock

    def listener(self, backlog=128):
        """A non-blocking listening socket on 127.0.0.1 and a free port; returns (socket, port)."""
        sock = self._own(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        sock.bind(("127.0.0.1", 0))
        sock.listen(backlog)
        return sock, sock.getsockname()[1]

    def server(self, listener, clients):
        """Task: accept `clients` connections, echo each in its own task, then close the listener.

        Returns the number of connections it accepted.
        """
        try:
            for _ in range(clients):
                yield ReadWait(listener)
                conn, _ = listener.accept()
                yield Spawn(self.handler(self._own(conn)))
        finally:
            listener.close()
        return clients

    def handler(self, conn):
        """Task: read one line from `conn`, send it back, close."""
        try:
            data = b""
            while not data.endswith(b"\n"):
                yield ReadWait(conn)
                chunk = conn.recv(65536)
                if not chunk:
                    return None
                data += chunk
            yield from self.send_all(conn, data)
            return data
        finally:
            conn.close()

    def client(self, port, message):
        """Task: connect, send `message` (bytes) and a newline, return the reply without it."""
        sock = self._own(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        try:
            err = sock.connect_ex(("127.0.0.1", port))
            if err not in _IN_PROGRESS:
                raise OSError(err, f"connect to 127.0.0.1:{port} failed")
            yield WriteWait(sock)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, f"connect to 127.0.0.1:{port} failed")
            yield from self.send_all(sock, message + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                yield ReadWait(sock)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
            return reply[:-1] if reply.endswith(b"\n") else reply
        finally:
            sock.close()

    @staticmethod
    def send_all(sock, data):
        """Sub-generator: send all of `data`, waiting for writability before each send."""
        view = memoryview(data)
        while view:
            yield WriteWait(sock)
            view = view[sock.send(view):]

    def socketpair(self):
        """Two connected non-blocking sockets (works on Windows too)."""
        a, b = socket.socketpair()
        return self._own(a), self._own(b)


# --------------------------------------------------------------------------------------
# The benchmark: `tasks` tasks, each giving the turn away `switches` times.

def _spinner(switches):
    for _ in range(switches):
        yield


def scheduler_switches(scheduler_class, tasks, switches):
    """Seconds for a new scheduler to spawn and run `tasks` generator tasks x `switches` bare yields."""
    spinners = [_spinner(switches) for _ in range(tasks)]
    start = time.perf_counter()
    sched = scheduler_class()
    for spinner in spinners:
        sched.spawn(spinner)
    sched.run()
    return time.perf_counter() - start


def asyncio_switches(tasks, switches):
    """Seconds for asyncio to start and run `tasks` tasks x `switches` ``await asyncio.sleep(0)``.

    The loop runs in a new thread, so this works inside a Jupyter kernel too
    (whose own thread already runs a loop).
    """
    async def spinner():
        for _ in range(switches):
            await asyncio.sleep(0)

    async def main():
        coros = [spinner() for _ in range(tasks)]
        start = time.perf_counter()
        await asyncio.gather(*coros)
        return time.perf_counter() - start

    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("t", asyncio.run(main())), daemon=True)
    thread.start()
    thread.join()
    return box["t"]
