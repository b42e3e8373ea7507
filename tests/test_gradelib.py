"""gradelib (shipped with every assignment): forced interleavings hit a race in every run and
never fail correct code; property checks are seeded and write nothing; failures show the
student's frames, not the helpers'."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import traceback

import pytest

from tools.assignments import SOURCE

sys.path.insert(0, str(SOURCE / "ps1_process_pool"))  # the copies are identical (test_assignments)
import gradelib  # noqa: E402

RUNS = 30


class RacyCounter:
    """A lost update: the window between reading n and writing n + 1 is one bytecode wide."""

    def __init__(self):
        self.n = 0

    def add(self):
        n = self.n
        self.n = n + 1


class LockedCounter(RacyCounter):
    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()

    def add(self):
        with self.lock:
            n = self.n
            self.n = n + 1


class RacyOwner:
    """Check-then-act: both threads can see no owner before either writes itself in."""

    def __init__(self):
        self.owner = None
        self.winners = []

    def take(self, me):
        if self.owner is None:
            self.owner = me
            self.winners.append(me)


class LockedOwner(RacyOwner):
    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()

    def take(self, me):
        with self.lock:
            super().take(me)


class PointCounter(RacyCounter):
    """A shipped helper's instrumented place inside the window (as WatchedLock's hooks are)."""

    def add(self):
        n = self.n
        gradelib.switch_point("add")
        self.n = n + 1


class LockedPointCounter(LockedCounter):
    def add(self):
        with self.lock:
            n = self.n
            gradelib.switch_point("add")
            self.n = n + 1


# --- lockstep: one bytecode at a time ------------------------------------------------------------

def test_lockstep_loses_the_update_of_a_racy_counter_every_run():
    for run in range(RUNS):
        c = RacyCounter()
        gradelib.lockstep(c.add, c.add, within=20)
        assert c.n == 1, f"run {run}: the racy counter was not caught (n = {c.n})"


def test_lockstep_never_fails_a_locked_counter():
    for run in range(RUNS):
        c = LockedCounter()
        gradelib.lockstep(c.add, c.add, c.add, within=20)
        assert c.n == 3, f"run {run}: a locked counter lost an update (n = {c.n})"


def test_lockstep_finds_a_check_then_act_window_every_run():
    for run in range(RUNS):
        racy, locked = RacyOwner(), LockedOwner()
        gradelib.lockstep(lambda: racy.take("a"), lambda: racy.take("b"), within=20)
        gradelib.lockstep(lambda: locked.take("a"), lambda: locked.take("b"), within=20)
        assert sorted(racy.winners) == ["a", "b"], f"run {run}: the racy owner was not caught: {racy.winners}"
        assert len(locked.winners) == 1, f"run {run}: two owners with a lock: {locked.winners}"


def test_lockstep_traces_only_what_it_is_told():
    """only=[RacyCounter] interleaves the class's code; a loop of other code runs untraced."""
    c = RacyCounter()
    results = gradelib.lockstep(c.add, c.add, within=20, only=[RacyCounter])
    assert c.n == 1 and results == [None, None]


def test_lockstep_returns_values_and_reraises_with_the_students_frames():
    assert gradelib.lockstep(lambda: 1, lambda: 2, within=10) == [1, 2]

    def student():
        raise KeyError("from the student")

    with pytest.raises(KeyError) as info:
        gradelib.lockstep(lambda: None, student, within=10)
    names = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "student" in names and "run" not in names and "local" not in names, names


def test_lockstep_hang_names_what_and_shows_where():
    never = threading.Event()

    def waits_forever():
        never.wait()

    started = time.monotonic()
    with pytest.raises(gradelib.Hang, match="the waiter did not finish within 0.5 s") as info:
        gradelib.lockstep(lambda: None, waits_forever, within=0.5, what="the waiter")
    assert time.monotonic() - started < 10
    assert "waits_forever" in [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    never.set()


# --- switch points at the shipped helpers' places --------------------------------------------------

def two_threads(fn, within=20):
    threads = [threading.Thread(target=fn, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(within)
    assert not any(t.is_alive() for t in threads), "threads did not finish"


def test_rendezvous_at_a_switch_point_hits_the_window_every_run():
    for run in range(RUNS):
        c = PointCounter()
        with gradelib.switch_points(gradelib.Rendezvous("add", timeout=5)) as meet:
            two_threads(c.add)
        assert c.n == 1 and meet.met == 1, f"run {run}: n = {c.n}, met {meet.met} times"


def test_rendezvous_never_fails_locked_code():
    for run in range(RUNS // 3):
        c = LockedPointCounter()
        with gradelib.switch_points(gradelib.Rendezvous("add", timeout=0.05)) as meet:
            two_threads(c.add)
        assert c.n == 2 and meet.met == 0 and meet.missed == 2, f"run {run}: n = {c.n}"


def test_schedule_imposes_its_order():
    """A thread that reaches a scheduled point waits there until every earlier step has
    happened (what it does after passing is not ordered: only the passing is)."""
    for run in range(RUNS // 3):
        steps = [("b", "first"), ("a", "first"), ("a", "second"), ("b", "second")]
        arrived, passed = {step: threading.Event() for step in steps}, []
        schedule = gradelib.Schedule(steps, timeout=5)

        def action(where, *details):
            arrived[(threading.current_thread().name, where)].set()
            schedule(where, *details)

        def worker():
            for point in ("first", "second"):
                gradelib.switch_point(point)
                passed.append((threading.current_thread().name, point))

        with gradelib.switch_points(action):
            a = threading.Thread(target=worker, name="a", daemon=True)
            a.start()
            assert arrived[("a", "first")].wait(10), f"run {run}: a never reached its first point"
            a.join(0.05)  # a chance to go ahead, which a correct schedule never takes
            assert not passed, f"run {run}: a passed its point before b's earlier step: {passed}"
            b = threading.Thread(target=worker, name="b", daemon=True)
            b.start()
            for t in (a, b):
                t.join(20)
        assert schedule.done and not schedule.late, f"run {run}: late steps {schedule.late}"
        # b's second step comes after a's: a had passed both its points before b passed its second
        assert passed.index(("a", "first")) < passed.index(("b", "second")), f"run {run}: order {passed}"
        assert sorted(passed) == sorted(steps), passed


def test_switch_points_do_nothing_unless_armed_and_restore_everything():
    c = PointCounter()
    two_threads(c.add)  # not armed: no waiting, no error
    interval = sys.getswitchinterval()
    with pytest.raises(ZeroDivisionError):
        with gradelib.switch_points() as action:
            assert action is gradelib.pause and sys.getswitchinterval() < interval
            1 / 0
    assert sys.getswitchinterval() == interval and gradelib._action is None
    with gradelib.switching():
        assert sys.getswitchinterval() < interval
    assert sys.getswitchinterval() == interval


# --- property-based checks --------------------------------------------------------------------------

PROPERTY = """
import sys
sys.path.insert(0, {lib!r})
import gradelib
from hypothesis import given, strategies as st

@given(st.lists(st.integers(), max_size=30))
def no_big_sums(xs):
    assert sum(xs) < 1000, f"sum {{sum(xs)}}"

for _ in range(2):
    try:
        gradelib.check_property(no_big_sums, within=60, what="sums")
    except AssertionError as exc:
        print("FAILED", exc, exc.__notes__)
    else:
        print("PASSED")
"""


def test_property_checks_are_seeded_bounded_and_write_no_files(tmp_path):
    code = PROPERTY.format(lib=str(SOURCE / "ps1_process_pool"))
    runs = [subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
            for _ in range(2)]
    outputs = [r.stdout for r in runs]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    lines = outputs[0].splitlines()
    assert len(lines) == 2 and lines[0].startswith("FAILED sum ") and lines[0] == lines[1], outputs[0]
    assert outputs[0] == outputs[1], f"two runs found different examples: {outputs}"
    assert not list(tmp_path.iterdir()), f"files written: {list(tmp_path.iterdir())}"


def test_property_settings():
    s = gradelib.property_settings(max_examples=7)
    assert s.derandomize and s.database is None and s.deadline is None and s.max_examples == 7


def test_check_property_bounds_a_hanging_property():
    from hypothesis import given, strategies as st

    never = threading.Event()

    @given(st.integers())
    def hangs(x):
        never.wait()

    with pytest.raises(gradelib.Hang, match="the property did not finish within 1 s"):
        gradelib.check_property(hangs, within=1, what="the property")
    never.set()


# --- tracebacks ----------------------------------------------------------------------------------------

def test_bounded_and_raises_cut_their_frames():
    def student(x):
        assert x > 0, "x must be positive"

    for call in (lambda: gradelib.bounded(student, -1, within=10),
                 lambda: gradelib.raises(ValueError, student, -1, within=10)):
        with pytest.raises(AssertionError) as info:
            call()
        frames = traceback.extract_tb(info.value.__traceback__)
        names = [f.name for f in frames]
        assert names[-1] == "student", names
        helpers = [f.name for f in frames if os.path.basename(f.filename) == "gradelib.py"]
        assert set(helpers) <= {"bounded", "raises", "_reraise"}, helpers  # each marked __tracebackhide__
        assert "run" not in helpers


STUDENT_SESSION = '''
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance(colors="nocolor")
shell.run_cell("""
import sys, threading
sys.path.insert(0, {lib!r})
import gradelib
def student(x):
    return helper(x) + 1
def helper(x):
    assert x > 0, "x must be positive"
    return x
never = threading.Event()
def stuck():
    never.wait()
""")
shell.run_cell("gradelib.bounded(student, -1, within=10, what='student(-1)')")
shell.run_cell("gradelib.raises(ValueError, student, -1, within=10)")
shell.run_cell("gradelib.bounded(stuck, within=0.5, what='stuck()')")
'''


def test_students_see_their_code_and_the_message_not_the_helpers():
    """IPython (the grading kernel's shell) hides the helpers' frames: the student sees the test's
    call, then their own code, then the message."""
    code = STUDENT_SESSION.format(lib=str(SOURCE / "ps1_process_pool"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    reports = out.split("Traceback (most recent call last)")[1:]
    assert len(reports) == 3, out
    for report in reports:
        assert "gradelib.py" not in report and "box[" not in report, report
    assert "in helper(x)" in reports[0] and "AssertionError: x must be positive" in reports[0]
    assert "in helper(x)" in reports[1] and \
        "expected ValueError, but AssertionError: x must be positive was raised" in reports[1]
    assert "in stuck()" in reports[2] and "Hang: stuck() did not finish within 0.5 s" in reports[2]


REFUSED = """
import sys
sys.path.insert(0, {lib!r})
import gradelib

def hook(event, args):
    if event == "sys.settrace":
        raise RuntimeError("sys.settrace is not allowed while grading")

sys.addaudithook(hook)
ran = []
try:
    gradelib.lockstep(lambda: ran.append(1), lambda: ran.append(2), within=10)
except RuntimeError as exc:
    print("REFUSED", ran, exc)
"""


def test_lockstep_says_so_where_tracing_is_refused():
    """A sandbox whose audit hook refuses sys.settrace gets a clear error, and no code runs untraced."""
    code = REFUSED.format(lib=str(SOURCE / "ps1_process_pool"))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.startswith("REFUSED [] gradelib.lockstep needs sys.settrace"), run.stdout + run.stderr


SANDBOXED_PROPERTY = """
import sys
sys.path.insert(0, {lib!r})

def hook(event, args):  # what the grading kernel refuses: tracing, and writing files
    if event in ("sys.settrace", "sys.setprofile"):
        raise RuntimeError(event + " is not allowed while grading")
    if event == "open" and len(args) > 1 and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
        raise PermissionError("writing " + repr(args[0]) + " is not allowed while grading")

sys.addaudithook(hook)
import gradelib
from hypothesis import given, strategies as st

@given(st.lists(st.integers(), max_size=30))
def no_big_sums(xs):
    assert sum(xs) < 1000, "sum too big"

try:
    gradelib.check_property(no_big_sums, within=60, what="sums")
except AssertionError as exc:
    print("FAILED", exc)
"""


def test_property_checks_need_neither_tracing_nor_writing(tmp_path):
    """hypothesis under property_settings runs in a kernel that refuses sys.settrace and writes."""
    code = SANDBOXED_PROPERTY.format(lib=str(SOURCE / "ps1_process_pool"))
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "FAILED sum too big", run.stdout + run.stderr
    assert not run.stderr and not list(tmp_path.iterdir())


def test_a_hang_inside_nested_helpers_still_shows_the_students_frames():
    never = threading.Event()

    def inner():
        never.wait()

    def outer():
        gradelib.bounded(inner, within=30)

    with pytest.raises(gradelib.Hang) as info:
        gradelib.bounded(outer, within=0.5, what="outer()")
    names = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "outer" in names and "run" not in names, names
    never.set()
