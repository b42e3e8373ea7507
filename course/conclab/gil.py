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

from . import workloads
from .timeline import Record, Timeline, makespan, records_from_samples, timed

__all__ = ["handoffs", "threaded", "foreground_slowdown", "split", "speedup_curve", "plot_speedup", "cores_used", "gil_status"]


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


def foreground_slowdown(kind: str, n: int, threads: int = 4, timeout: float = 60.0) -> float:
    """Time ``spin(n)`` in this thread while ``threads`` background threads do ``kind``.

    ``kind`` is ``"spin"`` (pure-Python loop: competes for the GIL),
    ``"sleep"`` (``time.sleep``) or ``"recv"`` (blocked reading an idle local
    socket).  Returns the ratio of that time to ``spin(n)`` alone (measured
    just before): about 1 when the background threads do not hold the GIL.
    """
    if kind not in _BACKGROUND:
        raise ValueError(f"kind must be one of {sorted(_BACKGROUND)}")
    t0 = time.perf_counter()
    workloads.spin(n)
    alone = time.perf_counter() - t0
    stop = threading.Event()
    ts = [threading.Thread(target=_BACKGROUND[kind], args=(stop,), daemon=True)
          for _ in range(threads)]
    for t in ts:
        t.start()
    try:
        time.sleep(0.02)  # let them settle into their loop or wait
        t0 = time.perf_counter()
        workloads.spin(n)
        busy = time.perf_counter() - t0
    finally:
        stop.set()
        for t in ts:
            t.join(timeout)
    return busy / alone if alone > 0 else float("inf")


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
                  timeout: float = 120.0) -> dict:
    """Time ``spin(total)`` split into k equal chunks on k workers, for k = 1..max_workers.

    For each kind (``"threads"``: one ThreadPoolExecutor; ``"processes"``: one
    ProcessPoolExecutor with the given start method, started and warmed up
    before timing) the wall time of a run is the makespan of the chunks'
    own records, so process start-up is not counted.  Returns
    ``{'workers': [1..N], 'threads': [seconds...], 'processes': [...],
    'records': {(kind, k): [Record, ...]}}``.
    """
    workers = list(range(1, max_workers + 1))
    out: dict = {"workers": workers, "records": {}}
    for kind in kinds:
        if kind == "threads":
            executor: cf.Executor = cf.ThreadPoolExecutor(max_workers, thread_name_prefix="worker")
        elif kind == "processes":
            ctx = multiprocessing.get_context(start_method)
            executor = cf.ProcessPoolExecutor(max_workers, mp_context=ctx)
            # start every worker process before timing anything
            list(executor.map(workloads.sleep_io, [0.05] * max_workers, timeout=timeout))
        else:
            raise ValueError(f"unknown kind {kind!r}")
        times = []
        with executor:
            for k in workers:
                recs = _run_chunks(executor, split(total, k), timeout)
                out["records"][(kind, k)] = recs
                times.append(makespan(recs))
        out[kind] = times
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
