"""Processes plus coroutines: a process pool whose workers each run an event loop.

A *task* here is ``(io_seconds, cpu_iterations)``: wait for simulated I/O,
then compute in pure Python.  Four ways to run a list of tasks:

* ``asyncio_only``       one event loop in one thread (I/O overlaps, CPU is serial)
* ``threads_only``       one OS thread per task (I/O overlaps, the GIL serialises CPU)
* ``processes_only``     a pool of ``workers`` processes, one blocking task at a time each
* ``processes_asyncio``  the same pool, but each worker runs ``asyncio.run`` over a batch

``compare`` times all four on one pool whose workers have all started, several
times in shuffled rounds (best run kept); ``predict`` is the back-of-the-envelope
model to check the measurements against; ``cores_used`` measures how many cores
a style of concurrency keeps busy (CPU seconds / wall seconds).

Everything a worker process runs is a module-level function of this module,
so it works under every start method (spawn, forkserver, fork); the pool's
start method is always passed explicitly.
"""
from __future__ import annotations

import asyncio
import hashlib
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from . import timing

TIMEOUT = 120.0  # seconds: bound on every wait in this module
STRATEGIES = ("asyncio only", "threads only", "processes only", "processes + asyncio")


# ------------------------------------------------------------------ the work
def spin(n: int) -> int:
    """Pure-Python CPU work: ``n`` loop iterations (holds the GIL throughout)."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def calibrate(seconds: float, probe: int = 200_000) -> int:
    """Iterations of ``spin`` that take about ``seconds`` on this machine right now."""
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        spin(probe)
        best = min(best, time.perf_counter() - t)
    return max(1, int(probe * seconds / best))


async def async_job(io_s: float, cpu_n: int) -> int:
    """Simulated I/O that yields to the event loop, then CPU work that does not."""
    await asyncio.sleep(io_s)
    return spin(cpu_n)


def blocking_job(io_s: float, cpu_n: int) -> int:
    """Simulated blocking I/O (the thread sleeps), then CPU work."""
    time.sleep(io_s)
    return spin(cpu_n)


async def _gather(batch):
    return await asyncio.gather(*(async_job(io, n) for io, n in batch))


def run_batch(batch: list[tuple[float, int]]) -> list[int]:
    """Worker entry point: one event loop over a whole batch of tasks."""
    return asyncio.run(_gather(batch))


# -------------------------------------------------------------- strategies
def _in_fresh_thread(fn, timeout: float = TIMEOUT):
    """Run ``fn()`` in a new thread (which has no running event loop) and return its value."""
    with ThreadPoolExecutor(max_workers=1) as ex:
        return ex.submit(fn).result(timeout=timeout)


def asyncio_only(tasks) -> list[int]:
    return _in_fresh_thread(lambda: run_batch(tasks))


def threads_only(tasks) -> list[int]:
    with ThreadPoolExecutor(max_workers=max(1, len(tasks))) as ex:
        futures = [ex.submit(blocking_job, io, n) for io, n in tasks]
        return [f.result(timeout=TIMEOUT) for f in futures]


def processes_only(tasks, pool: ProcessPoolExecutor) -> list[int]:
    futures = [pool.submit(blocking_job, io, n) for io, n in tasks]
    return [f.result(timeout=TIMEOUT) for f in futures]


def processes_asyncio(tasks, pool: ProcessPoolExecutor, workers: int) -> list[int]:
    batches = [tasks[i::workers] for i in range(workers)]  # round-robin split
    futures = [pool.submit(run_batch, b) for b in batches]
    results: list = [None] * len(tasks)
    for i, f in enumerate(futures):
        results[i::workers] = f.result(timeout=TIMEOUT)
    return results


def make_pool(workers: int, start_method: str = "spawn") -> tuple[ProcessPoolExecutor, float]:
    """A process pool with all ``workers`` started; returns (pool, seconds it took).

    See :func:`conclab.timing.started_pool`: every worker answers a warm-up
    task at a barrier, so none is still starting when the timing begins.
    """
    return timing.started_pool(workers, start_method, TIMEOUT)


def compare(tasks, workers: int = 2, start_method: str = "spawn", repeat: int = 5) -> dict:
    """Time every strategy on ``tasks``; check they all computed the same results.

    The four strategies run ``repeat`` times, in a new random order each round
    (:func:`conclab.timing.best_of`), and the fastest run of each is kept, so a
    moment when another program was busy costs one sample, not the verdict.
    Returns ``{"seconds": {strategy: s}, "samples": {strategy: [s, ...]},
    "same_results": bool, "pool_start": s}``.  The pool is started before
    timing and shared by both process strategies.
    """
    expected = [spin(n) for _, n in tasks[:1]]  # a cheap spot check
    pool, pool_start = make_pool(workers, start_method)
    outputs: dict[str, list] = {}
    try:
        runs = {
            "asyncio only": lambda: asyncio_only(tasks),
            "threads only": lambda: threads_only(tasks),
            "processes only": lambda: processes_only(tasks, pool),
            "processes + asyncio": lambda: processes_asyncio(tasks, pool, workers),
        }

        def timed_run(name: str):
            def once() -> float:
                t = time.perf_counter()
                outputs[name] = runs[name]()
                return time.perf_counter() - t
            return once

        measured = timing.best_of({name: timed_run(name) for name in STRATEGIES}, repeat=repeat)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    first = outputs["asyncio only"]
    same = first[:1] == expected and all(out == first for out in outputs.values())
    return {"seconds": measured.best, "samples": measured.samples, "same_results": same,
            "pool_start": pool_start}


def predict(n: int, io_s: float, cpu_s: float, workers: int) -> dict[str, float]:
    """The simple model: I/O overlaps where something can wait; CPU runs on 1 or ``workers`` cores."""
    per_worker = math.ceil(n / workers)
    return {
        "asyncio only": io_s + n * cpu_s,
        "threads only": io_s + n * cpu_s,
        "processes only": per_worker * (io_s + cpu_s),
        "processes + asyncio": io_s + per_worker * cpu_s,
    }


# ------------------------------------------------------ how many cores busy?
def _timed(fn, *args):
    """Run ``fn(*args)``; return the CPU seconds this thread spent on it."""
    t = time.thread_time()
    fn(*args)
    return time.thread_time() - t


def _sha(data: bytes, rounds: int) -> None:
    for _ in range(rounds):
        hashlib.sha256(data).digest()  # releases the GIL for buffers > 2047 bytes


async def _spin_coro(n: int) -> float:
    return _timed(spin, n)


def cores_used(mode: str, jobs: int = 2, seconds: float = 0.25, start_method: str = "spawn") -> float:
    """CPU seconds / wall seconds while ``jobs`` CPU jobs run concurrently in ``mode``.

    ``mode`` is "asyncio" (coroutines in one loop), "threads" (pure Python in
    threads), "threads+hashlib" (threads hashing big buffers: C code that
    releases the GIL) or "processes".  About 1.0 means one core was busy at a
    time; about ``min(jobs, cores)`` means the jobs ran in parallel.
    """
    if mode not in ("asyncio", "threads", "threads+hashlib", "processes"):
        raise ValueError(f"unknown mode {mode!r}")
    n = calibrate(seconds)
    if mode == "processes":  # start the pool before the clock starts
        pool, _ = make_pool(jobs, start_method)
    t = time.perf_counter()
    if mode == "asyncio":
        async def main():
            return await asyncio.gather(*(_spin_coro(n) for _ in range(jobs)))
        cpu = _in_fresh_thread(lambda: asyncio.run(main()))
    elif mode in ("threads", "threads+hashlib"):
        if mode == "threads":
            work, args = spin, (n,)
        else:
            data = bytes(1 << 22)
            t0 = time.perf_counter()
            _sha(data, 1)
            work, args = _sha, (data, max(1, int(seconds / max(time.perf_counter() - t0, 1e-6))))
            t = time.perf_counter()
        with ThreadPoolExecutor(max_workers=jobs) as ex:
            cpu = [f.result(timeout=TIMEOUT) for f in [ex.submit(_timed, work, *args) for _ in range(jobs)]]
    elif mode == "processes":
        try:
            cpu = [f.result(timeout=TIMEOUT) for f in [pool.submit(_timed, spin, n) for _ in range(jobs)]]
            wall = time.perf_counter() - t
        finally:
            pool.shutdown(wait=True)
        return sum(cpu) / wall
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return sum(cpu) / (time.perf_counter() - t)
