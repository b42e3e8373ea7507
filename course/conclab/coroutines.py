"""Coroutines from scratch: a tiny event loop, and a few measurements.

``tiny_loop`` runs *tasks* - generators, or ``async def`` coroutines that await
``Sleep`` - on one thread, with a ready queue (``collections.deque``) and a
sleeping heap (``heapq``, ordered by wake-up time).  A task gives control back
by yielding the number of seconds it wants to sleep (0 = "let the others
run").  That is all an event loop is; asyncio adds I/O readiness (``select``),
futures, cancellation and a lot of care.

The loop keeps time with a *clock*: ``VirtualClock`` (the default) jumps
forward instead of sleeping, so a trace is instant and identical on every
machine; ``RealClock`` really sleeps.

This is the idea only.  The course assignment ps3_coroutine_scheduler asks you
to build a full scheduler with system calls; nothing here implements that API.
"""
from __future__ import annotations

import asyncio
import heapq
import threading
import time
from collections import deque
from itertools import count


class VirtualClock:
    """A clock whose ``sleep`` advances time instantly (deterministic traces)."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


class RealClock:
    """``time.monotonic`` and ``time.sleep``."""

    now = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)


def tiny_loop(tasks, clock=None):
    """Run generator/coroutine ``tasks`` cooperatively; return their return values in order."""
    clock = clock or VirtualClock()
    ready = deque(enumerate(tasks))           # (index, task) runnable now
    sleeping = []                             # heap of (wake_time, tie, index, task)
    tie = count()                             # equal wake times keep FIFO order
    results = [None] * len(ready)
    while ready or sleeping:
        while sleeping and sleeping[0][0] <= clock.now():
            _, _, i, task = heapq.heappop(sleeping)
            ready.append((i, task))
        if not ready:                         # nothing to run: sleep until the next wake-up
            clock.sleep(sleeping[0][0] - clock.now())
            continue
        i, task = ready.popleft()
        try:
            delay = task.send(None)           # run the task until its next yield
        except StopIteration as stop:         # the task returned
            results[i] = stop.value
            continue
        if delay:
            heapq.heappush(sleeping, (clock.now() + delay, next(tie), i, task))
        else:
            ready.append((i, task))
    return results


class Sleep:
    """``await Sleep(s)`` inside an ``async def`` run by ``tiny_loop``.

    ``__await__`` is a generator: what it yields travels up through every
    ``await`` to whoever called ``send`` - here, ``tiny_loop`` (PEP 492).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __await__(self):
        yield self.seconds


# ------------------------------------------------------- cost of one switch
def generator_switches(n: int) -> float:
    """Seconds per ``send`` into a generator (a switch there and back)."""
    def echo():
        x = None
        while True:
            x = yield x

    g = echo()
    next(g)
    t = time.perf_counter()
    for i in range(n):
        g.send(i)
    return (time.perf_counter() - t) / n


def greenlet_switches(n: int) -> float:
    """Seconds per round trip main -> greenlet -> main."""
    from greenlet import greenlet, getcurrent

    main = getcurrent()

    def echo(x):
        while True:
            x = main.switch(x)

    g = greenlet(echo)
    g.switch(0)
    t = time.perf_counter()
    for i in range(n):
        g.switch(i)
    return (time.perf_counter() - t) / n


def asyncio_switches(n: int) -> float:
    """Seconds per task switch: two tasks each doing ``await asyncio.sleep(0)``.

    Runs its own event loop in a fresh thread, so it also works inside a
    notebook kernel (whose thread already runs a loop).
    """
    async def spin():
        for _ in range(n):
            await asyncio.sleep(0)

    async def main():
        t = time.perf_counter()
        await asyncio.gather(spin(), spin())
        return (time.perf_counter() - t) / (2 * n)

    return _in_thread(lambda: asyncio.run(main()))


def thread_switches(n: int) -> float:
    """Seconds per hand-off between two OS threads (ping-pong on two Events)."""
    ping, pong = threading.Event(), threading.Event()

    def partner():
        for _ in range(n):
            if not ping.wait(10):
                return
            ping.clear()
            pong.set()

    th = threading.Thread(target=partner, daemon=True)
    th.start()
    t = time.perf_counter()
    for _ in range(n):
        ping.set()
        if not pong.wait(10):
            raise TimeoutError("partner thread stopped answering")
        pong.clear()
    elapsed = time.perf_counter() - t
    th.join(10)
    return elapsed / (2 * n)


def _in_thread(fn, timeout: float = 60.0):
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the caller
            box["error"] = exc

    th = threading.Thread(target=target, daemon=True)
    th.start()
    th.join(timeout)
    if th.is_alive():
        raise TimeoutError(f"{fn} did not finish within {timeout} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def switch_costs(n: int = 20_000) -> dict[str, float]:
    """Seconds per switch for generators, greenlets, asyncio tasks and OS threads."""
    return {
        "generator send": generator_switches(n),
        "greenlet switch": greenlet_switches(n),
        "asyncio task switch": asyncio_switches(n),
        "OS thread hand-off": thread_switches(max(1, n // 10)),
    }
