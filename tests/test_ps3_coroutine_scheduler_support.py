"""Unit tests of ps3_coroutine_scheduler's shipped modules, syscalls.py and schedlib.py.

The notebook's tests lean on these helpers (time limits that stop a runaway
scheduler, a coarse clock, the loopback echo tasks), so they are tested here
on their own, with the reference scheduler from the source notebook where a
scheduler is needed.
"""
import contextlib
import signal
import sys
import threading
import time
import types

import pytest

from tools.assignments import SOURCE, reference_solutions

FOLDER = SOURCE / "ps3_coroutine_scheduler"
sys.path.insert(0, str(FOLDER))

import gradelib  # noqa: E402
import schedlib  # noqa: E402
import syscalls  # noqa: E402
from syscalls import Cancelled, GetTid, Join, Kill, ReadWait, Sleep, Spawn, WriteWait  # noqa: E402


@pytest.fixture(scope="module")
def Scheduler():
    module = types.ModuleType("reference_scheduler")
    exec(reference_solutions("ps3_coroutine_scheduler")["scheduler_solution"], module.__dict__)
    return module.Scheduler


# ------------------------------------------------------------------ syscalls.py
def test_every_request_is_awaitable_and_returns_what_is_sent():
    async def task():
        return [await GetTid(), await Spawn("c"), await Join(3), await Sleep(0.5), await Kill(4),
                await ReadWait("r"), await WriteWait("w")]

    coro, answers, requests = task(), iter(range(10, 20)), []
    request = coro.send(None)
    with pytest.raises(StopIteration) as stop:
        while True:
            requests.append(request)
            request = coro.send(next(answers))
    assert [type(r) for r in requests] == [GetTid, Spawn, Join, Sleep, Kill, ReadWait, WriteWait]
    assert stop.value.value == list(range(10, 17))


def test_requests_hold_their_arguments_and_read_well():
    assert (Spawn("c").coro, Join(3).tid, Sleep(0.5).seconds, Kill(4).tid) == ("c", 3, 0.5, 4)
    assert (ReadWait("r").fileobj, WriteWait("w").fileobj) == ("r", "w")
    assert repr(Sleep(0.5)) == "Sleep(0.5)" and repr(GetTid()) == "GetTid()"
    assert issubclass(Cancelled, Exception)
    assert set(syscalls.__all__) >= {"Cancelled", "GetTid", "Spawn", "Join", "Sleep", "Kill", "ReadWait", "WriteWait"}


def test_a_generator_task_sees_the_same_requests():
    def task():
        tid = yield GetTid()
        return tid

    g = task()
    assert type(g.send(None)) is GetTid
    with pytest.raises(StopIteration) as stop:
        g.send(5)
    assert stop.value.value == 5


# ------------------------------------------------------------------ schedlib.py
@pytest.fixture
def python_sigint():
    """SIGINT handled by Python (KeyboardInterrupt), as in a kernel running a cell.

    schedlib.bounded stops a call of the main thread with _thread.interrupt_main(), which does
    nothing where SIGINT is ignored: in a process started with SIGINT ignored, as a background
    job of a non-interactive shell is, Python never installs its handler."""
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_bounded_returns_the_value_and_reraises():
    assert schedlib.bounded(lambda x: x * 2, 21, within=5) == 42
    with pytest.raises(KeyError):
        schedlib.bounded(lambda: {}["missing"], within=5)


def test_bounded_stops_a_call_that_spins_forever(python_sigint):
    progress, stopped = [], threading.Event()

    def spin():
        try:
            while True:
                progress.append(1)
                if len(progress) > 1000:
                    progress.clear()
        except KeyboardInterrupt:
            stopped.set()
            raise

    assert threading.current_thread() is threading.main_thread(), "bounded stops only a call of the main thread"
    with pytest.raises(gradelib.Hang, match="spinner.*it was stopped"):
        schedlib.bounded(spin, within=0.3, what="spinner")
    assert stopped.is_set(), "the runaway call was not stopped where it ran"


def test_run_within_stops_a_scheduler_that_never_returns(python_sigint):
    class Spinning:
        def run(self):
            while True:
                pass

    started = time.monotonic()
    with pytest.raises(gradelib.Hang, match="never returns"):
        schedlib.run_within(Spinning(), within=0.3, what="never returns")
    assert time.monotonic() - started < 3


def test_value_of_explains_a_failed_task():
    class Sched:
        def result(self, tid):
            if tid == 1:
                return "ok"
            raise ValueError("broken")

    assert schedlib.value_of(Sched(), 1) == "ok"
    with pytest.raises(AssertionError, match=r"client \(tid 2\).*ValueError\('broken'\)"):
        schedlib.value_of(Sched(), 2, "client")


def test_coarse_clock_ticks_in_steps_and_is_restored():
    real = time.monotonic
    with schedlib.coarse_clock(0.1):
        a = time.monotonic()
        b = time.monotonic()
        assert a == b, "readings a few microseconds apart fall in the same step"
        assert abs(a / 0.1 - round(a / 0.1)) < 1e-6
        time.sleep(0.12)
        assert time.monotonic() > a
    assert time.monotonic is real


def test_echo_server_and_clients_on_loopback(Scheduler):
    with schedlib.Loopback() as net:
        sched = Scheduler()
        listener, port = net.listener()
        server = sched.spawn(net.server(listener, 3))
        messages = [b"a", b"b" * 200_000, b"c"]
        clients = [sched.spawn(net.client(port, m)) for m in messages]
        schedlib.run_within(sched, within=10)
        assert sched.result(server) == 3
        assert [sched.result(c) for c in clients] == messages
        opened = list(net.sockets)
    assert opened and all(s.fileno() == -1 for s in opened), "Loopback closes every socket it made"


def test_client_fails_when_resumed_before_its_socket_is_ready():
    """A scheduler that ignores ReadWait makes the echo tasks fail, not pass by luck."""
    with schedlib.Loopback() as net:
        a, b = net.socketpair()
        handler = net.handler(a)
        assert type(handler.send(None)) is ReadWait
        with pytest.raises(BlockingIOError):
            handler.send(None)  # resumed although nothing arrived


def test_socketpair_is_non_blocking():
    with schedlib.Loopback() as net:
        a, b = net.socketpair()
        assert a.gettimeout() == 0.0 and b.gettimeout() == 0.0
        with pytest.raises(BlockingIOError):
            a.recv(1)


def test_benchmark_workloads_run(Scheduler):
    assert schedlib.scheduler_switches(Scheduler, 50, 5) > 0
    assert schedlib.asyncio_switches(50, 5) > 0


def test_run_within_says_where_an_exception_left_run():
    class Leaky:
        def run(self):
            def task():
                yield
                return None + 1
            coro = task()
            next(coro)
            coro.send(None)

    with pytest.raises(AssertionError) as caught:
        schedlib.run_within(Leaky(), what="run() of a leaky scheduler")
    message = str(caught.value)
    assert message.startswith("run() of a leaky scheduler raised TypeError: unsupported operand")
    assert "raised in task(), line" in message and "return None + 1" in message and "(E1)" in message
    assert "\n" not in message, "the first line is what the feedback's summary shows"


def test_run_within_explains_a_blocking_io_error_and_lets_base_exceptions_through():
    class Early:
        def run(self):
            raise BlockingIOError(11, "Resource temporarily unavailable")

    with pytest.raises(AssertionError, match=r"resumed before its socket was ready \(D1\)"):
        schedlib.run_within(Early())

    class Interrupted:
        def run(self):
            raise KeyboardInterrupt("from a task")

    with pytest.raises(KeyboardInterrupt):
        schedlib.run_within(Interrupted())


def test_tracebacks_leave_out_the_helpers_own_frames():
    def fails():
        raise ValueError("in the student's code")

    with pytest.raises(ValueError) as caught:
        schedlib.bounded(fails, within=5)
    ours = [entry.name for entry in caught.traceback if str(entry.path) == schedlib.__file__]
    assert "call" not in ours, f"the wrapper that runs fn in its thread is cut from the traceback: {ours}"
    assert caught.traceback[-1].name == "fails"


def test_raises_returns_the_exception_or_says_what_should_have_happened():
    assert isinstance(schedlib.raises(KeyError, "lookup", {}.__getitem__, 1), KeyError)
    with pytest.raises(AssertionError, match=r"^A1: spawn\(42\) should raise TypeError, but it returned 7$"):
        schedlib.raises(TypeError, "A1: spawn(42)", lambda x: 7, 42)
    with pytest.raises(AssertionError, match=r"^it should raise TypeError, not ValueError: invalid literal"):
        schedlib.raises(TypeError, "it", int, "bad")


def test_counting_counts_only_the_calls_made_inside_bounded():
    with schedlib.counting() as calls:
        time.monotonic()                                  # the test's own: not counted
        selector = __import__("selectors").DefaultSelector()

        def scheduler_like():
            for _ in range(3):
                time.monotonic()
            time.sleep(0.001)
            selector.select(0)

        schedlib.bounded(scheduler_like, within=5)
    selector.close()
    assert dict(calls) == {"time.monotonic()": 3, "time.sleep()": 1, "select()": 1}
    assert calls.total == 5 and "time.sleep() 1 times" in str(calls)
    assert time.monotonic is not None and not hasattr(time.monotonic, "__wrapped__")


def test_sleep_plan_reports_when_each_sleeper_asked_and_woke(Scheduler):
    wakes = schedlib.sleep_plan(Scheduler, [[0.2], [None, 0.01], ["work", 0]])
    assert sorted((w.task, w.step, w.seconds) for w in wakes) == [(0, 0, 0.2), (1, 1, 0.01), (2, 1, 0)]
    for w in wakes:
        assert w.asked <= w.next_reading <= w.woke
        assert w.woke - w.asked >= w.seconds - 0.001
    long, short = sorted((w for w in wakes if w.seconds > 0), key=lambda w: -w.seconds)
    if short.next_reading + short.seconds < long.asked + long.seconds:   # (not on a machine that stalled 0.19 s)
        assert wakes.index(short) < wakes.index(long), "the 0.01 s sleeper wakes first"


def test_later_calls_from_a_thread_and_is_cancelled_with_its_block():
    called = threading.Event()
    with schedlib.later(0.01, called.set):
        assert called.wait(5)
    skipped = threading.Event()
    with schedlib.later(10, skipped.set) as timer:
        pass
    timer.join(5)
    assert not skipped.is_set() and not timer.is_alive()

    def closed_socket_send():
        raise OSError("closed meanwhile")

    with schedlib.later(0, closed_socket_send) as timer:
        timer.join(5)                                     # the OSError is swallowed: nothing on stderr


def test_close_quietly_closes_and_ignores_what_finally_blocks_raise():
    log = []

    def bad():
        try:
            yield
        finally:
            log.append("finally")
            raise ValueError("from finally")

    coro = bad()
    next(coro)
    schedlib.close_quietly(coro, bad())
    assert log == ["finally"]


def test_check_timing_property_shows_the_first_failure_not_flaky():
    from hypothesis import given, strategies as st

    calls = []

    @gradelib.property_settings(max_examples=5)
    @given(st.integers(0, 3))
    def once_only(n):
        calls.append(n)
        assert len(calls) > 1, f"C1: failed on the first example {n}"

    with pytest.raises(AssertionError, match=r"^C1: failed on the first example"):
        schedlib.check_timing_property(once_only, within=10, what="a property that fails once")

    @gradelib.property_settings(max_examples=5)
    @given(st.integers(0, 3))
    def holds(n):
        assert n >= 0

    schedlib.check_timing_property(holds, within=10, what="a property that holds")


def test_counting_ignores_a_runaway_of_an_earlier_check():
    # a check that ran in another thread could not stop its spinning scheduler: it is still running
    stop, spinning = threading.Event(), threading.Event()

    def runaway():
        while not stop.is_set():
            time.monotonic()
            spinning.set()

    def earlier_check():
        with contextlib.suppress(gradelib.Hang):
            schedlib.bounded(runaway, within=0.1, what="an earlier scheduler")

    threading.Thread(target=earlier_check, daemon=True).start()
    try:
        assert spinning.wait(5)
        with schedlib.counting() as calls:
            schedlib.bounded(lambda: [time.monotonic() for _ in range(3)], within=5)
            time.sleep(0.05)   # the runaway calls time.monotonic() thousands of times meanwhile
        assert calls["time.monotonic()"] == 3, f"only this check's calls count: {calls}"
    finally:
        stop.set()


def test_counting_counts_a_run_nested_in_a_bounded_check():
    # the test cells run their check in schedlib.bounded, and the scheduler in run_within inside it
    def check():
        with schedlib.counting() as calls:
            time.monotonic()                      # the check's own call: not counted
            schedlib.bounded(lambda: [time.monotonic() for _ in range(4)], within=5)
        return calls

    calls = schedlib.bounded(check, within=5)
    assert calls["time.monotonic()"] == 4, f"the nested run's calls count: {calls}"
