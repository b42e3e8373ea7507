"""Coroutines from scratch: a tiny event loop.

``tiny_loop`` runs *tasks* - generators, or ``async def`` coroutines that await
``Sleep`` - on one thread, with a ready queue (``collections.deque``) and a
sleeping heap (``heapq``, ordered by wake-up time).  A task gives control back
by yielding the number of seconds it wants to sleep (0 = "let the others
run").  That is all an event loop is; asyncio adds I/O readiness (``select``),
futures, cancellation and a lot of care.

The loop keeps time with a *clock*: ``VirtualClock`` (the default) jumps
forward instead of sleeping, so a trace is instant and identical on every
machine; ``RealClock`` really sleeps.

What one switch costs is measured in one place, with one method, for
threads, generators, greenlets and asyncio tasks alike:
:func:`conclab.anatomy.handoff_costs`.

This is the idea only.  The course assignment ps3_coroutine_scheduler asks you
to build a full scheduler with system calls; nothing here implements that API.
"""
from __future__ import annotations

import heapq
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
