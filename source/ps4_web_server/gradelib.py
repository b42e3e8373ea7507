"""Helpers for the autograded tests (read-only: do not edit).

The same file ships with every assignment of the course (the test suite checks
that the copies are identical).  The tests call student code through
``bounded`` so that code that hangs or deadlocks loses the points of that test
within seconds, and the rest of the notebook is still graded.

What the tests use:

* ``bounded``, ``raises``, ``Hang``: call with a time limit; a failure shows
  your code and the test's message, not these helpers (their frames are cut
  from the traceback);
* ``cpu_seconds``, ``cpu_during``, ``lingering``: CPU time and leftover processes;
* forced interleavings, so that a race is hit in every run, not by luck:
  ``switching`` (threads switch every few bytecodes), ``lockstep`` (threads
  take turns one bytecode at a time), and ``switch_point``/``switch_points``
  (the shipped helpers mark the places where the tests may force a switch:
  a pause, a ``Rendezvous`` of threads, or an explicit ``Schedule``);
* ``property_settings``, ``check_property``: property-based checks with
  hypothesis, seeded (the same examples every run), bounded, writing no files.
"""
import contextlib
import faulthandler
import linecache
import os
import re
import sys
import tempfile
import threading
import time
import types

try:
    import psutil
except ImportError:  # the tests that need it say so
    psutil = None

__all__ = [
    "Hang", "bounded", "raises", "cpu_seconds", "cpu_during", "lingering",
    "switching", "lockstep", "switch_point", "switch_points", "pause", "Rendezvous", "Schedule",
    "property_settings", "check_property",
]

_HERE = os.path.normcase(os.path.abspath(__file__))
_sleep = time.sleep          # this module's own: a test may replace time.sleep for a moment
_monotonic = time.monotonic


class Hang(AssertionError):
    """Student code did not finish within the time the test allows."""


# --- tracebacks that show the student's code ---------------------------------------------

def _ours(frame):
    return os.path.normcase(os.path.abspath(frame.f_code.co_filename)) == _HERE


def _without_helpers(tb):
    """The traceback `tb` less the entries of this module's frames (the wrappers)."""
    entries = []
    while tb is not None:
        if not _ours(tb.tb_frame):
            entries.append((tb.tb_frame, tb.tb_lasti, tb.tb_lineno))
        tb = tb.tb_next
    out = None
    for frame, lasti, lineno in reversed(entries):
        out = types.TracebackType(out, frame, lasti, lineno)
    return out


def _stack_of(thread):
    """A traceback of where `thread` is now (its frames below this module's), or None.

    (None too while grading: the sandbox hands out no other thread's frames, and
    stuck_at() tells where the thread is instead.)"""
    try:
        frame = sys._current_frames().get(thread.ident)
    except RuntimeError:
        return None
    frames = []
    while frame is not None:
        if _ours(frame):
            if frame.f_code.co_name == "run":  # the thread's start in this module: the rest is threading's
                break
        else:
            frames.append(frame)
        frame = frame.f_back
    out = None
    for frame in frames:  # innermost first: build the chain from the inside out
        out = types.TracebackType(out, frame, frame.f_lasti, frame.f_lineno)
    return out


def stuck_at(thread, limit=3, skip=()):
    """Where `thread` is now, as text: its innermost `limit` lines of Python code, leaving
    out this module's and the files in `skip`.  Read from faulthandler's dump of every
    thread's stack, which gives file names and lines, never frames (which a grading
    sandbox does not hand out).  '' when the thread is not found."""
    try:
        with tempfile.TemporaryFile("w+") as fh:
            faulthandler.dump_traceback(fh, all_threads=True)
            fh.seek(0)
            dump = fh.read()
    except (OSError, RuntimeError, ValueError):
        return ""
    wanted = f"0x{thread.ident:016x}"
    skipped = {_HERE} | {os.path.normcase(os.path.abspath(f)) for f in skip}
    for block in dump.split("\n\n"):
        head, _, body = block.strip().partition("\n")
        if wanted not in head:
            continue
        lines = []
        for match in re.finditer(r'File "(.*)", line (\d+) in (.*)', body):
            filename, lineno, function = match.group(1), int(match.group(2)), match.group(3)
            if os.path.normcase(os.path.abspath(filename)) in skipped or "threading.py" in filename:
                continue
            text = linecache.getline(filename, lineno).strip()
            lines.append(f'  File "{filename}", line {lineno}, in {function}' + (f"\n    {text}" if text else ""))
            if len(lines) == limit:
                break
        return "\n".join(reversed(lines))
    return ""


def _reraise(error):
    """Raise `error` again, with the helpers' frames cut from its traceback."""
    __tracebackhide__ = True  # IPython and pytest leave this frame out of tracebacks
    try:
        raise error.with_traceback(_without_helpers(error.__traceback__))
    finally:
        error = None  # no reference cycle through this frame


def bounded(fn, *args, within, what=None, **kwargs):
    """Call fn(*args, **kwargs) in a daemon thread and wait at most `within` seconds.

    Returns fn's value or re-raises its exception (showing fn's own frames, not
    this helper's).  If fn is still running after `within` seconds, raises Hang
    (an AssertionError) naming `what`, whose traceback shows where fn was
    stuck; the thread is a daemon, so it cannot keep the kernel alive.
    """
    __tracebackhide__ = True
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
        stack = _stack_of(thread)
        place = "" if stack is not None else stuck_at(thread)
        raise Hang(f"{label} did not finish within {within} s: it hangs, deadlocks or waits forever"
                   + (f"; it is stuck here:\n{place}" if place else "")).with_traceback(stack)
    if "error" in box:
        _reraise(box.pop("error"))
    return box.get("value")


def raises(exc_type, fn, *args, within=10, **kwargs):
    """Assert that fn(*args, **kwargs) raises exc_type within `within` s; return the exception."""
    __tracebackhide__ = True
    try:
        bounded(fn, *args, within=within, **kwargs)
    except Hang:
        raise
    except exc_type as exc:
        return exc
    except BaseException as exc:
        wrong = AssertionError(f"expected {exc_type.__name__}, but {type(exc).__name__}: {exc} was raised")
        tb = _without_helpers(exc.__traceback__)  # where the other exception came from
        exc = None
        raise wrong.with_traceback(tb) from None
    raise AssertionError(f"expected {exc_type.__name__}, but nothing was raised")


# --- CPU time and processes ------------------------------------------------------------------

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
    __tracebackhide__ = True
    before = cpu_seconds(pids)
    if fn is None:
        _sleep(seconds)
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


# --- forced interleavings ----------------------------------------------------------------------

@contextlib.contextmanager
def switching(interval=1e-6):
    """Within the block, threads switch as often as CPython allows (``sys.setswitchinterval``)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


class _Turns:
    """One token passed between threads at every traced bytecode (see lockstep)."""

    def __init__(self, n, patience):
        self.cond = threading.Condition(threading.Lock())
        self.ready = threading.Barrier(n)
        self.token = 0
        self.taken = False      # the holder has woken up and taken the token
        self.active = list(range(n))
        self.stalled = set()    # threads blocked outside traced code (a lock, I/O, a sleep)
        self.moves = 0
        self.patience = patience

    def _give(self, to):
        if to != self.token:
            self.token, self.taken = to, False

    def _next(self, me):
        others = [i for i in self.active if i != me and i not in self.stalled]
        later = [i for i in others if i > me]
        return (later or others or [me])[0]

    def _await(self, me):
        while self.token != me:
            holder, seen = self.token, self.moves
            if holder not in self.active:
                self._give(me)
            elif not self.cond.wait(self.patience) and self.token == holder and self.moves == seen and self.taken:
                # the holder took its turn and made no move since: it is blocked outside
                # traced code; go on without it until it runs traced code again
                self.stalled.add(holder)
                self._give(me)
        self.taken = True

    def step(self, me):
        with self.cond:
            self.moves += 1
            self.stalled.discard(me)
            if self.token == me:
                self._give(self._next(me))
                self.cond.notify_all()
            self._await(me)

    def enter(self, me, timeout):
        with contextlib.suppress(threading.BrokenBarrierError):
            self.ready.wait(timeout)  # everybody starts together
        with self.cond:
            self._await(me)

    def leave(self, me):
        with self.cond:
            self.moves += 1
            self.active.remove(me)
            if self.token == me and self.active:
                self._give(self._next(me))
            self.cond.notify_all()


def _library_paths():
    import sysconfig

    paths = {sysconfig.get_path(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return tuple(os.path.normcase(os.path.abspath(p)) + os.sep for p in paths if p)


def _traced(only):
    """A predicate on code objects: which frames lockstep interleaves."""
    if only is None:
        libraries = _library_paths()

        def wanted(code):
            name = code.co_filename
            if name.startswith("<frozen"):
                return False
            path = os.path.normcase(os.path.abspath(name))
            return path != _HERE and not path.startswith(libraries)
        return wanted
    files = set()
    for obj in only:
        if isinstance(obj, str):
            files.add(obj)
            continue
        obj = getattr(obj, "__func__", obj)
        code = getattr(obj, "__code__", None)
        if code is not None:
            files.add(code.co_filename)
        elif getattr(obj, "__file__", None):
            files.add(obj.__file__)
        else:  # a class: the files of its functions
            files |= {f.__code__.co_filename for f in vars(obj).values() if hasattr(f, "__code__")}
    return lambda code: code.co_filename in files


def lockstep(*fns, within=10, what=None, only=None, patience=0.05):
    """Run each fn in its own thread, the threads taking turns one bytecode at a time.

    Thread 0 runs one bytecode of traced code, then thread 1 one, and so on,
    so that two threads running the same code meet in every window between
    two bytecodes (a check and the act that relies on it, a read and the
    write of its result): a race there happens in every run.  Traced code is
    code outside the standard library, the installed packages and this
    module, or, with ``only=[obj, ...]``, the code in the files of those
    functions, classes or modules.  A thread that blocks outside traced code
    (on a lock, a sleep, I/O) is passed over after ``patience`` seconds until
    it runs traced code again.  Returns the fns' results, in order; re-raises
    the first exception; raises Hang (naming `what`) after `within` seconds.
    """
    __tracebackhide__ = True
    wanted = _traced(only)
    turns = _Turns(len(fns), patience)
    box = [{} for _ in fns]
    refused = []

    def run(me, fn):
        def local(frame, event, arg):
            if event == "opcode":
                turns.step(me)
            return local

        def tracer(frame, event, arg):
            if event == "call" and wanted(frame.f_code):
                frame.f_trace_opcodes = True
                frame.f_trace_lines = False
                return local
            return None

        try:
            turns.enter(me, within)
            try:
                sys.settrace(tracer)
            except RuntimeError as exc:  # an audit hook refuses tracing (a grading sandbox may)
                refused.append(f"{exc}")
                return
            try:
                box[me]["value"] = fn()
            finally:
                sys.settrace(None)
        except BaseException as exc:
            box[me]["error"] = exc
        finally:
            turns.leave(me)

    threads = [threading.Thread(target=run, args=(i, fn), name=f"lockstep-{i}", daemon=True)
               for i, fn in enumerate(fns)]
    deadline = _monotonic() + within
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - _monotonic()))
    stuck = next((t for t in threads if t.is_alive()), None)
    if stuck is not None:
        label = what or ", ".join(getattr(fn, "__qualname__", repr(fn)) for fn in fns)
        raise Hang(f"{label} did not finish within {within} s (threads taking turns): "
                   f"it hangs, deadlocks or waits forever").with_traceback(_stack_of(stuck))
    if refused:
        raise RuntimeError(f"gradelib.lockstep needs sys.settrace, which this Python refuses ({refused[0]}); "
                           f"force the switches with switch_points at the shipped helpers' places instead")
    for slot in box:
        if "error" in slot:
            _reraise(slot.pop("error"))
    return [slot.get("value") for slot in box]


_action = None  # what switch_point does while switch_points is active


def switch_point(where, *details):
    """Mark a place where the tests may force a thread switch (called by the shipped helpers).

    Does nothing unless a test has armed the switch points (``switch_points``).
    """
    action = _action
    if action is not None:
        action(where, *details)


def pause(where=None, *details, seconds=0.001):
    """Hand the processor to the other threads for a moment (the default switch point action)."""
    _sleep(seconds)


@contextlib.contextmanager
def switch_points(action=pause, interval=1e-6):
    """Within the block, every ``switch_point(where, ...)`` calls ``action(where, ...)``, and
    threads switch as often as CPython allows.  ``action`` may be ``pause`` (the default), a
    ``Rendezvous``, a ``Schedule``, or any callable."""
    global _action
    before = _action
    _action = action
    try:
        with switching(interval):
            yield action
    finally:
        _action = before


class Rendezvous:
    """A switch point action: at the points named in `points` (all points if empty), each arriving
    thread waits until `parties` threads are there (at most `timeout` s), then all go on.

    Two threads that reach the same point have then both done what comes before it before either
    does what comes after it: a check-then-act around a switch point races every time.  A thread
    that cannot arrive (it waits for a lock the other holds) costs the other `timeout` s.
    """

    def __init__(self, *points, parties=2, timeout=0.2):
        self.points = set(points)
        self.parties = parties
        self.timeout = timeout
        self.met = 0        # how many times the parties met
        self.missed = 0     # how many times a thread went on alone
        self._cond = threading.Condition()
        self._arrived = 0
        self._round = 0

    def __call__(self, where, *details):
        if self.points and where not in self.points:
            return
        with self._cond:
            mine = self._round
            self._arrived += 1
            if self._arrived >= self.parties:
                self._arrived = 0
                self._round += 1
                self.met += 1
                self._cond.notify_all()
                return
            if not self._cond.wait_for(lambda: self._round != mine, self.timeout):
                self._arrived -= 1
                self.missed += 1


class Schedule:
    """A switch point action that imposes an order: `steps` is a list of (thread name, point).

    A thread reaching a point that is one of the steps waits (at most `timeout` s) until every
    earlier step has happened.  Points and threads not in `steps` pass freely.  ``done`` tells
    whether every step happened; ``late`` lists the steps that went ahead after a timeout.
    """

    def __init__(self, steps, timeout=2.0):
        self.steps = [tuple(s) for s in steps]
        self.timeout = timeout
        self.late = []
        self._next = 0
        self._cond = threading.Condition()

    @property
    def done(self):
        return self._next >= len(self.steps)

    def __call__(self, where, *details):
        me = (threading.current_thread().name, where)
        with self._cond:
            pending = [i for i in range(self._next, len(self.steps)) if self.steps[i] == me]
            if not pending:
                return
            index = pending[0]
            if not self._cond.wait_for(lambda: self._next >= index, self.timeout):
                self.late.append(me)
            self._next = max(self._next, index + 1)
            self._cond.notify_all()


# --- property-based checks -------------------------------------------------------------------

def property_settings(max_examples=50, **overrides):
    """hypothesis settings for grading: the same examples in every run (``derandomize``), at
    most `max_examples`, no per-example deadline (a loaded machine must not fail a test), no
    example database and no files written, no health check that depends on speed.  Use as a
    decorator above ``@given`` (or pass it as ``settings=`` to ``check_property``)."""
    from hypothesis import HealthCheck, Phase, settings

    options = dict(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much, HealthCheck.differing_executors],
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )
    options.update(overrides)
    return settings(**options)


def check_property(test, *args, within, what=None, settings=None, **kwargs):
    """Run a hypothesis test (a function decorated with ``@given``) under ``bounded``, with
    ``property_settings()`` unless it has settings of its own or `settings` is given: a
    counterexample fails it with hypothesis's report of the falsifying example, and a hang costs
    only this check."""
    __tracebackhide__ = True
    import hypothesis

    if settings is None and getattr(test, "_hypothesis_internal_use_settings", None) is hypothesis.settings.default:
        settings = property_settings()  # the test has no settings of its own
    if settings is not None:
        test = settings(test)
    return bounded(test, *args, within=within, what=what, **kwargs)
