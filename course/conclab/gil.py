"""Helpers for lecture 01.02: measuring what the GIL does.

* :func:`handoffs`: several threads spin on pure-Python work and note every
  moment the running thread changes; returns timeline records of the
  uninterrupted runs (how long each thread kept the GIL).
* :func:`speedup_curve` and :func:`plot_speedup`: the same CPU-bound work
  split over 1..N threads and over 1..N processes, timed, and drawn.
* :func:`threaded`: run calls in one thread each and return results and records.
* :func:`foreground_slowdown`: how much slower a CPU-bound loop runs while
  other threads spin, sleep or wait in ``recv`` (blocked threads do not hold the GIL).
* :func:`cores_used`: CPU seconds per wall-clock second while a function runs
  (about 1.0 means one core was busy, 2.0 two cores).
* :func:`gil_status`: is this interpreter a free-threaded build, and is the
  GIL on right now?
* :func:`four_jobs`: the same CPU-bound jobs on a few threads and on as many
  processes, best of several rounds, for a Gantt chart.
* :func:`hash_speedup`: threads hashing buffers against one thread doing it all.
* :func:`lost_updates`: a shared counter incremented by several threads, with
  or without a check point between the read and the write.

Timing functions repeat their measurement (``repeat``) in rounds whose order
is shuffled (:func:`conclab.timing.best_of`) and keep the best value, so one
busy moment of another program does not decide the result.

Nothing here prints; work that crosses a process boundary is module-level
(:mod:`conclab.workloads`), so every start method works.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import socket
import sys
import sysconfig
import threading
import time

from . import timing, workloads
from .timeline import Record, Timeline, makespan, records_from_samples, timed

__all__ = ["handoffs", "threaded", "foreground_slowdown", "split", "speedup_curve", "plot_speedup", "cores_used",
           "gil_status", "four_jobs", "hash_speedup", "lost_updates"]


def handoffs(duration: float = 0.2, threads: int = 2, timeout: float = 30.0) -> list[Record]:
    """Run ``threads`` CPU-bound threads for ``duration`` seconds; return their runs.

    All threads loop on ``last = me`` with a shared variable ``last``.  A
    thread that finds ``last`` naming somebody else has just been given the
    GIL back, and notes ``(me, perf_counter())``.  Nobody yields on purpose:
    every switch was decided by the interpreter (switch interval) and the OS.
    Returns :func:`~conclab.timeline.records_from_samples` of those notes:
    one record per uninterrupted run, worker = thread name.
    """
    samples: list[tuple[str, float]] = []
    state = {"last": None}
    go = threading.Barrier(threads + 1, timeout=timeout)
    clock = time.perf_counter

    def body(me: str) -> None:
        go.wait()
        deadline = clock() + duration
        while True:
            if state["last"] != me:  # somebody else ran since we last looked
                state["last"] = me
                samples.append((me, clock()))
            if clock() >= deadline:
                break
        finished.append(clock())

    finished: list[float] = []
    ts = [threading.Thread(target=body, args=(f"thread {i}",), name=f"thread {i}", daemon=True)
          for i in range(threads)]
    for t in ts:
        t.start()
    go.wait()
    for t in ts:
        t.join(timeout)
        if t.is_alive():
            raise TimeoutError("handoffs: a thread did not finish")
    return records_from_samples(samples, end=max(finished))


def threaded(fn, args_list: list[tuple], timeout: float = 120.0,
             names: list[str] | None = None) -> tuple[list, list[Record]]:
    """Run ``fn(*args)`` for every ``args`` in ``args_list``, each in its own thread.

    Threads are named ``names[i]`` (default ``"thread <i>"``); each call is
    recorded as task ``"job <i>"``.  Returns ``(results, records)`` with
    results in the order of ``args_list``.  Raises TimeoutError if a thread
    is still running after ``timeout`` seconds, and re-raises the first
    exception a call raised.
    """
    tl = Timeline()
    results: list = [None] * len(args_list)
    errors: list[BaseException] = []
    names = names or [f"thread {i}" for i in range(len(args_list))]

    def run(i: int, args: tuple) -> None:
        try:
            with tl.span(f"job {i}"):
                results[i] = fn(*args)
        except BaseException as exc:  # handed to the caller below
            errors.append(exc)

    ts = [threading.Thread(target=run, args=(i, a), name=names[i], daemon=True)
          for i, a in enumerate(args_list)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + timeout
    for t in ts:
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            raise TimeoutError(f"{t.name} still running after {timeout} s")
    if errors:
        raise errors[0]
    return results, tl.records


def _bg_spin(stop: threading.Event) -> None:
    while not stop.is_set():
        pass


def _bg_sleep(stop: threading.Event) -> None:
    while not stop.is_set():
        time.sleep(0.05)


def _bg_recv(stop: threading.Event) -> None:
    a, b = socket.socketpair()  # a local pair: nothing leaves the machine
    with a, b:
        a.settimeout(0.05)
        while not stop.is_set():
            try:
                a.recv(1)  # nobody sends: the thread waits in the kernel
            except (socket.timeout, TimeoutError):
                pass


_BACKGROUND = {"spin": _bg_spin, "sleep": _bg_sleep, "recv": _bg_recv}


def foreground_slowdown(kind: str, n: int, threads: int = 4, timeout: float = 60.0, repeat: int = 1) -> float:
    """Time ``spin(n)`` in this thread while ``threads`` background threads do ``kind``.

    ``kind`` is ``"spin"`` (pure-Python loop: competes for the GIL),
    ``"sleep"`` (``time.sleep``) or ``"recv"`` (blocked reading an idle local
    socket).  Returns the ratio of that time to ``spin(n)`` alone: about 1 when
    the background threads do not hold the GIL.  With ``repeat`` > 1 both
    times are measured ``repeat`` times, in shuffled order, and the fastest of
    each is used.
    """
    if kind not in _BACKGROUND:
        raise ValueError(f"kind must be one of {sorted(_BACKGROUND)}")

    def alone() -> float:
        t0 = time.perf_counter()
        workloads.spin(n)
        return time.perf_counter() - t0

    def beside() -> float:
        stop = threading.Event()
        ts = [threading.Thread(target=_BACKGROUND[kind], args=(stop,), daemon=True)
              for _ in range(threads)]
        for t in ts:
            t.start()
        try:
            time.sleep(0.02)  # let them settle into their loop or wait
            t0 = time.perf_counter()
            workloads.spin(n)
            return time.perf_counter() - t0
        finally:
            stop.set()
            for t in ts:
                t.join(timeout)

    best = timing.best_of({"alone": alone, "beside": beside}, repeat=repeat).best
    return best["beside"] / best["alone"] if best["alone"] > 0 else float("inf")


def split(total: int, parts: int) -> list[int]:
    """Split ``total`` into ``parts`` near-equal positive integers that sum to ``total``."""
    if parts < 1:
        raise ValueError("parts must be >= 1")
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _run_chunks(executor: cf.Executor, chunks: list[int], timeout: float) -> list[Record]:
    futures = [executor.submit(timed, workloads.spin, n, task=f"chunk {i + 1}")
               for i, n in enumerate(chunks)]
    return [f.result(timeout=timeout)[1] for f in futures]


def speedup_curve(total: int, max_workers: int, start_method: str = "spawn",
                  kinds: tuple[str, ...] = ("threads", "processes"),
                  timeout: float = 120.0, repeat: int = 1) -> dict:
    """Time ``spin(total)`` split into k equal chunks on k workers, for k = 1..max_workers.

    For each kind (``"threads"``: one ThreadPoolExecutor; ``"processes"``: one
    ProcessPoolExecutor with the given start method, every worker started
    before timing, :func:`conclab.timing.started_pool`) the wall time of a run is
    the makespan of the chunks' own records, so process start-up is not
    counted.  Every (kind, k) is run ``repeat`` times, in shuffled order, and
    the fastest run is kept.  Returns ``{'workers': [1..N], 'threads':
    [seconds...], 'processes': [...], 'records': {(kind, k): [Record, ...]}}``.
    """
    for kind in kinds:
        if kind not in ("threads", "processes"):
            raise ValueError(f"unknown kind {kind!r}")
    workers = list(range(1, max_workers + 1))
    out: dict = {"workers": workers, "records": {}}
    executors: dict[str, cf.Executor] = {}
    try:
        for kind in kinds:
            if kind == "threads":
                executors[kind] = cf.ThreadPoolExecutor(max_workers, thread_name_prefix="worker")
            else:
                executors[kind] = timing.started_pool(max_workers, start_method, timeout)[0]
        best: dict[tuple[str, int], list[Record]] = {}

        def run(kind: str, k: int):
            def once() -> float:
                recs = _run_chunks(executors[kind], split(total, k), timeout)
                if (kind, k) not in best or makespan(recs) < makespan(best[kind, k]):
                    best[kind, k] = recs
                return makespan(recs)
            return once

        measured = timing.best_of({f"{kind} {k}": run(kind, k) for kind in kinds for k in workers},
                                  repeat=repeat).best
    finally:
        for ex in executors.values():
            ex.shutdown(wait=True)
    for kind in kinds:
        out[kind] = [measured[f"{kind} {k}"] for k in workers]
        for k in workers:
            out["records"][(kind, k)] = best[kind, k]
    return out


def plot_speedup(curve: dict, ax=None, title: str | None = None):
    """Plot speed-up ``T(1) / T(k)`` against k for every kind in ``curve``; return the Axes.

    The dashed diagonal is the ideal (k workers, k times faster).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.6))
    ks = curve["workers"]
    ax.plot(ks, ks, "--", color="grey", label="ideal")
    for kind, marker in (("threads", "o"), ("processes", "s")):
        if kind in curve:
            times = curve[kind]
            ax.plot(ks, [times[0] / t for t in times], marker=marker, label=kind)
    ax.set_xlabel("workers (k)")
    ax.set_ylabel("speed-up  T(1) / T(k)")
    ax.set_xticks(ks)
    ax.set_ylim(0, max(ks) + 0.5)
    ax.legend()
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax


def cores_used(fn, *args, **kwargs) -> tuple[object, float]:
    """Run ``fn(*args, **kwargs)``; return ``(result, cpu_seconds / wall_seconds)``.

    CPU seconds are ``time.process_time()``: user + system time of *all*
    threads of this process.  A ratio near 1.0 means one core was busy on
    average; near 2.0, two cores.  Work done in child processes is not counted.
    """
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = fn(*args, **kwargs)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return result, cpu / wall if wall > 0 else 0.0


def gil_status() -> dict:
    """Facts about the GIL in this interpreter.

    ``free_threaded_build``: ``sysconfig.get_config_var("Py_GIL_DISABLED")``
    is 1 (a ``python3.13t``/``3.14t`` build, PEP 703); ``gil_enabled``:
    ``sys._is_gil_enabled()`` where it exists (3.13+), else True (a build
    without free threading always has the GIL); ``switch_interval`` in seconds.
    """
    flag = sysconfig.get_config_var("Py_GIL_DISABLED")
    probe = getattr(sys, "_is_gil_enabled", None)
    return {
        "version": sys.version.split()[0],
        "Py_GIL_DISABLED": flag,
        "free_threaded_build": bool(flag),
        "has_sys._is_gil_enabled": probe is not None,
        "gil_enabled": probe() if probe is not None else True,
        "switch_interval": sys.getswitchinterval(),
        "cpu_count": os.cpu_count(),
    }


def four_jobs(n: int, workers: int = 2, jobs: int = 4, start_method: str = "spawn",
              repeat: int = 3, timeout: float = 120.0) -> dict:
    """``jobs`` calls of ``spin(n)`` on ``workers`` threads and on ``workers`` processes.

    Also times one ``spin(n)`` alone.  Each of the three is run ``repeat`` times
    in shuffled rounds; the run with the shortest makespan is kept.  Returns
    ``{"alone": seconds, "threads": [Record...], "processes": [Record...]}``
    (records of the kept runs; process records come back from the children).
    """
    kept: dict[str, list[Record]] = {}
    alone: list[float] = []
    pool = timing.started_pool(workers, start_method, timeout)[0]
    threads = cf.ThreadPoolExecutor(workers, thread_name_prefix="thread")

    def on(kind: str, ex: cf.Executor):
        def once() -> float:
            futures = [ex.submit(timed, workloads.spin, n, task=f"job {i}") for i in range(jobs)]
            recs = [f.result(timeout=timeout)[1] for f in futures]
            if kind not in kept or makespan(recs) < makespan(kept[kind]):
                kept[kind] = recs
            return makespan(recs)
        return once

    def solo() -> float:
        t0 = time.perf_counter()
        workloads.spin(n)
        alone.append(time.perf_counter() - t0)
        return alone[-1]

    try:
        timing.best_of({"threads": on("threads", threads), "processes": on("processes", pool),
                        "alone": solo}, repeat=repeat)
    finally:
        threads.shutdown(wait=True)
        pool.shutdown(wait=True)
    return {"alone": min(alone), "threads": kept["threads"], "processes": kept["processes"]}


def hash_speedup(size: int, rounds: int, workers: int, repeat: int = 3) -> tuple[float, list[Record]]:
    """How many times faster ``workers`` threads hash than one thread doing the same hashing.

    Each thread runs ``sha256_rounds(size, rounds)``; the serial run does all of
    them one after another.  Both are timed ``repeat`` times in shuffled order,
    fastest kept.  Returns ``(serial / parallel, records of the fastest parallel run)``.
    """
    kept: list[list[Record]] = []

    def serial() -> float:
        t0 = time.perf_counter()
        for _ in range(workers):
            workloads.sha256_rounds(size, rounds)
        return time.perf_counter() - t0

    def parallel() -> float:
        _, recs = threaded(workloads.sha256_rounds, [(size, rounds)] * workers)
        if not kept or makespan(recs) < makespan(kept[0]):
            kept[:] = [recs]
        return makespan(recs)

    best = timing.best_of({"serial": serial, "parallel": parallel}, repeat=repeat).best
    return best["serial"] / best["parallel"], kept[0]


_counter = {"n": 0}


def _one() -> int:
    return 1


def _add_plain(times: int) -> None:
    c = _counter
    for _ in range(times):
        c["n"] += 1                  # load, add, store: no check point in between


def _add_with_call(times: int) -> None:
    c = _counter
    for _ in range(times):
        c["n"] = c["n"] + _one()     # load, CALL (a check point), add, store


def _add_with_sleep(times: int) -> None:
    c = _counter
    for _ in range(times):
        tmp = c["n"]
        time.sleep(0)                # releases the GIL: another thread certainly runs
        c["n"] = tmp + 1


_ADDERS = {"plain": _add_plain, "call": _add_with_call, "sleep": _add_with_sleep}


def lost_updates(kind: str, threads: int = 4, times: int = 100_000, timeout: float = 120.0) -> int:
    """Start ``threads`` threads that each add 1 to a shared counter ``times`` times; return how many adds were lost.

    ``kind`` is ``"plain"`` (``c["n"] += 1``), ``"call"`` (``c["n"] = c["n"] + one()``:
    a function call between the read and the write) or ``"sleep"`` (read,
    ``time.sleep(0)``, write).  With the GIL (CPython 3.10+), a thread is only
    switched out at *check points*: function entry, calls, jumps back in a
    loop.  "plain" has none between its read and its write; "call" has one.
    """
    if kind not in _ADDERS:
        raise ValueError(f"kind must be one of {sorted(_ADDERS)}")
    _counter["n"] = 0
    threaded(_ADDERS[kind], [(times,)] * threads, timeout=timeout)
    return threads * times - _counter["n"]
