"""Unit tests of ps3_coroutine_scheduler's shipped modules, syscalls.py and schedlib.py.

The notebook's tests lean on these helpers (time limits that stop a runaway
scheduler, a coarse clock, the loopback echo tasks), so they are tested here
on their own, with the reference scheduler from the source notebook where a
scheduler is needed.
"""
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
def test_bounded_returns_the_value_and_reraises():
    assert schedlib.bounded(lambda x: x * 2, 21, within=5) == 42
    with pytest.raises(KeyError):
        schedlib.bounded(lambda: {}["missing"], within=5)


def test_bounded_stops_a_call_that_spins_forever():
    progress, stopped = [], threading.Event()

    def spin():
        try:
            while True:
                progress.append(1)
                if len(progress) > 1000:
                    progress.clear()
        except schedlib.Stopped:
            stopped.set()
            raise

    with pytest.raises(gradelib.Hang, match="spinner"):
        schedlib.bounded(spin, within=0.3, what="spinner")
    assert stopped.wait(5), "the runaway call was not stopped"
    assert issubclass(schedlib.Stopped, BaseException) and not issubclass(schedlib.Stopped, Exception)


def test_run_within_stops_a_scheduler_that_never_returns():
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
