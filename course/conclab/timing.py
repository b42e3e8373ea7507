"""Timing that tells the machine's numbers from its neighbours'.

A measurement on a shared or busy machine mixes two things: what the code
costs, and what other programs took away from it meanwhile.  The helpers here
keep the second out as far as one process can:

* :func:`best_of` runs several competing measurements in rounds, in a new
  random order every round, and keeps the best value of each (the minimum of
  a time, the maximum of a rate).  Noise only ever makes a run slower, so the
  best of several runs is the closest to the machine's own number; shuffling
  spreads a neighbour's burst over all competitors instead of one.
* :func:`free_cores` measures how many cores this program can get *right now*:
  one spinning process per usable core for a fraction of a second, CPU seconds
  obtained divided by wall seconds.  An idle two-core machine gives about 2.0;
  with a neighbour spinning on one core, about 1.3 or less.
* :func:`usable_cores` is the number of cores this process may run on
  (CPU affinity, as ``os.process_cpu_count()`` of Python 3.13), not the number
  the machine has (``os.cpu_count()``).
* :func:`started_pool` returns a process pool whose workers have *all*
  started.  Since Python 3.9 a ``ProcessPoolExecutor`` starts workers on demand
  (except under ``fork``), so a warm-up of ``map(f, range(workers))`` may be
  answered by the first worker alone while the others are still starting, and
  their start-up then lands inside the timed run.  Here every worker must
  meet the others at a barrier, which it can only do once it is running.

Every function that starts processes takes the start method explicitly and
runs only module-level code in the children, so it works under spawn,
forkserver and fork.
"""
from __future__ import annotations

import multiprocessing
import os
import random
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Mapping

__all__ = ["Timings", "best_of", "usable_cores", "free_cores", "started_pool"]

TIMEOUT = 120.0


@dataclass
class Timings:
    """What :func:`best_of` measured: ``best[name]`` and every sample, by name."""

    best: dict[str, float]
    samples: dict[str, list[float]] = field(default_factory=dict)
    orders: list[list[str]] = field(default_factory=list)

    def spread(self, name: str) -> float:
        """Worst sample over best sample for ``name`` (1.0: every run gave the same)."""
        s = self.samples[name]
        lo, hi = min(s), max(s)
        return hi / lo if lo > 0 else float("inf")


def best_of(measures: Mapping[str, Callable[[], float]], repeat: int = 5,
            pick: Callable = min, seed: int | None = None) -> Timings:
    """Run every measurement ``repeat`` times, in rounds, each round in a new random order.

    ``measures`` maps a name to a function that performs one run and returns its
    number (seconds, or a rate).  ``pick`` chooses the representative value
    (``min`` for times, ``max`` for rates or cores).  Returns :class:`Timings`.
    """
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    rng = random.Random(seed)
    names = list(measures)
    samples: dict[str, list[float]] = {n: [] for n in names}
    orders = []
    for _ in range(repeat):
        order = names[:]
        rng.shuffle(order)
        orders.append(order)
        for name in order:
            samples[name].append(measures[name]())
    return Timings({n: pick(samples[n]) for n in names}, samples, orders)


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity where the OS has one."""
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counter is not None:
        return counter() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


_SPINNER = """
import sys, time
seconds = float(sys.argv[1])
print("ready", flush=True)
if sys.stdin.readline().strip() != "go":
    sys.exit(0)
c0, t0 = time.process_time(), time.perf_counter()
x = 0
while time.perf_counter() - t0 < seconds:
    for i in range(2000):
        x = (x + i * i) % 1_000_003
print(time.process_time() - c0, flush=True)
"""


def free_cores(seconds: float = 0.3, processes: int | None = None) -> float:
    """How many cores' worth of CPU time spinning processes get, per wall second, right now.

    Starts one small interpreter per usable core (or ``processes``), lets them
    spin together for ``seconds`` and returns total CPU seconds / ``seconds``.
    On an idle machine this is close to the number of usable cores; every busy
    neighbour lowers it.  Start-up of the interpreters is not measured.
    """
    import subprocess
    import sys

    n = processes or usable_cores()
    procs = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen([sys.executable, "-c", _SPINNER, str(seconds)], text=True,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE))
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError("free_cores: a spinning process did not start")
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        cpu = 0.0
        for p in procs:
            out, _ = p.communicate(timeout=TIMEOUT)
            cpu += float(out.strip())
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(TIMEOUT)
    return cpu / seconds


def median_free_cores(runs: int = 3, seconds: float = 0.3, **kwargs) -> tuple[float, list[float]]:
    """:func:`free_cores` ``runs`` times; returns (median, all values)."""
    values = [free_cores(seconds, **kwargs) for _ in range(runs)]
    return statistics.median(values), values


# ------------------------------------------------------------ a pool that has started
_barrier = None


def _keep_barrier(barrier) -> None:
    global _barrier
    _barrier = barrier


def _meet(timeout: float) -> int:
    """Warm-up task: wait at the barrier until every worker is running one; return the pid."""
    _barrier.wait(timeout)
    return os.getpid()


def started_pool(workers: int, start_method: str = "spawn",
                 timeout: float = TIMEOUT) -> tuple[ProcessPoolExecutor, float]:
    """A ``ProcessPoolExecutor`` with all ``workers`` running; returns ``(pool, seconds it took)``.

    Each of ``workers`` warm-up tasks waits at a barrier for the others, so no
    worker can take two of them: the call returns only when ``workers``
    distinct processes have answered (checked).  The pool is yours to shut down.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    ctx = multiprocessing.get_context(start_method)
    t = time.perf_counter()
    barrier = ctx.Barrier(workers)
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_keep_barrier, initargs=(barrier,))
    try:
        pids = [f.result(timeout=timeout) for f in [pool.submit(_meet, timeout) for _ in range(workers)]]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    if len(set(pids)) != workers:  # cannot happen with a barrier; checked all the same
        pool.shutdown(wait=False, cancel_futures=True)
        raise RuntimeError(f"started_pool: {len(set(pids))} of {workers} workers answered")
    return pool, time.perf_counter() - t
