"""Helpers for lecture 01.01 (and the switch costs of 03.02): what processes, threads and coroutines are made of.

* :data:`COUNTER` and :func:`bump`: who sees a change to a global variable,
  a thread or a child process?
* :func:`census` and :func:`format_tree`: "a process holds threads, a thread
  holds coroutines", shown with pids, native thread ids and asyncio tasks.
* :func:`pingpong_threads`, :func:`pingpong_generators`,
  :func:`pingpong_greenlets`, :func:`pingpong_tasks`: hand control from one
  player to the other ``n`` times in all, between two threads / generators /
  greenlets / asyncio tasks, and return the elapsed seconds.  One *hand-off*
  is the unit everywhere: control passes once from one player to the other
  (for generators and tasks through the driver or event loop in between, as
  it must).
* :func:`handoff_costs`: seconds per hand-off of each kind, and the operating
  system's context switches per hand-off, best of several shuffled rounds.
* :func:`creation_costs`: seconds to create and finish 1 000 processes,
  threads, greenlets, generators and asyncio tasks, best of several rounds.
* :func:`ctx_switches`: the operating system's context-switch counters.
* :func:`memory_per_unit`: resident and virtual memory per idle thread,
  greenlet, generator or asyncio task.

Everything is importable by child processes (``census`` is meant to be run
in one) and prints nothing.
"""
from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import queue
import threading
import time

from . import timing, workloads

__all__ = ["COUNTER", "bump", "census", "format_tree", "pingpong_threads", "pingpong_generators",
           "pingpong_greenlets", "pingpong_tasks", "handoff_costs", "creation_costs", "ctx_switches",
           "memory_per_unit"]


COUNTER = 0
"""A module-level global that :func:`bump` changes (each process has its own copy)."""


def bump(shared=None, times: int = 1) -> int:
    """Add 1 to a counter ``times`` times and return its new value.

    With ``shared=None`` the counter is this module's global :data:`COUNTER`
    (shared by the threads of one process, private to each process); otherwise
    ``shared`` is a ``multiprocessing.Value`` (shared memory that several
    processes see), incremented under its own lock.
    """
    global COUNTER
    if shared is None:
        for _ in range(times):
            COUNTER += 1
        return COUNTER
    with shared.get_lock():
        shared.value += times
        return shared.value


def census(threads: int = 2, tasks: int = 3, timeout: float = 10.0) -> list[dict]:
    """Start ``threads`` threads, each running its own asyncio loop with ``tasks`` tasks.

    Every task reports where it runs.  Returns one dict per task, ordered by
    thread then task: ``{'pid', 'thread', 'native_id', 'task', 'task_id'}``,
    where ``task_id`` is ``id()`` of the asyncio Task object (unique while
    the tasks are alive) and ``native_id`` the kernel's thread id.
    """
    rows: list[list[dict]] = [[] for _ in range(threads)]

    async def report(i: int) -> dict:
        await asyncio.sleep(0)  # be a real coroutine: suspend once
        task = asyncio.current_task()
        return {"pid": os.getpid(), "thread": threading.current_thread().name,
                "native_id": threading.get_native_id(), "task": task.get_name(),
                "task_id": id(task)}

    async def loop_body(t: int) -> list[dict]:
        jobs = [asyncio.create_task(report(i), name=f"task-{t}.{i}") for i in range(tasks)]
        return list(await asyncio.gather(*jobs))

    def thread_body(t: int) -> None:
        rows[t] = asyncio.run(loop_body(t))

    workers = [threading.Thread(target=thread_body, args=(t,), name=f"thread-{t}", daemon=True)
               for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout)
        if w.is_alive():
            raise TimeoutError(f"{w.name} did not finish within {timeout} s")
    return [row for per_thread in rows for row in per_thread]


def format_tree(rows: list[dict]) -> str:
    """Draw :func:`census` rows as a process -> thread -> task tree (one line each)."""
    lines: list[str] = []
    by_pid: dict[int, dict[tuple, list[dict]]] = {}
    for r in rows:
        by_pid.setdefault(r["pid"], {}).setdefault((r["thread"], r["native_id"]), []).append(r)
    for pid, threads in by_pid.items():
        lines.append(f"process pid={pid}")
        items = list(threads.items())
        for ti, ((name, native), tasks) in enumerate(items):
            last_t = ti == len(items) - 1
            lines.append(f"{'└──' if last_t else '├──'} thread {name} native_id={native}")
            for ki, r in enumerate(tasks):
                branch = "    " if last_t else "│   "
                lines.append(f"{branch}{'└──' if ki == len(tasks) - 1 else '├──'} task {r['task']}")
    return "\n".join(lines)


def pingpong_threads(n: int, timeout: float = 10.0) -> float:
    """Hand a token between the calling thread and a helper thread, ``n`` hand-offs in all.

    Each hand-off blocks one thread on a ``queue.Queue`` until the other
    answers, so the OS must switch threads.  Returns elapsed seconds.  The
    calling thread is one of the two players, so its own context-switch
    counter (``psutil.Process().num_ctx_switches()`` on Linux) sees them.
    """
    ping: queue.Queue = queue.Queue()
    pong: queue.Queue = queue.Queue()
    rounds = n // 2                            # a round trip is two hand-offs

    def partner() -> None:
        for _ in range(rounds):
            pong.put(ping.get(timeout=timeout))

    helper = threading.Thread(target=partner, daemon=True)
    helper.start()
    start = time.perf_counter()
    for i in range(rounds):
        ping.put(i)
        pong.get(timeout=timeout)
    elapsed = time.perf_counter() - start
    helper.join(timeout)
    return elapsed


def pingpong_generators(n: int) -> float:
    """Resume two generators alternately, ``n`` resumptions in all; return seconds."""

    def player():
        while True:
            yield

    a, b = player(), player()
    next(a), next(b)
    start = time.perf_counter()
    for _ in range(n // 2):
        a.send(None)
        b.send(None)
    return time.perf_counter() - start


def pingpong_greenlets(n: int) -> float:
    """Switch between two greenlets ``n`` times in all; return seconds."""
    import greenlet  # optional dependency (installed with gevent)

    rounds = n // 2

    def play_a():
        for _ in range(rounds):
            g_b.switch()

    def play_b():
        for _ in range(rounds):
            g_a.switch()

    g_a, g_b = greenlet.greenlet(play_a), greenlet.greenlet(play_b)
    start = time.perf_counter()
    g_a.switch()
    elapsed = time.perf_counter() - start
    if not g_b.dead:  # b is parked in its last switch: finish it
        g_b.switch()
    return elapsed


async def pingpong_tasks(n: int) -> float:
    """Two asyncio tasks that each ``await asyncio.sleep(0)`` ``n // 2`` times; return seconds.

    ``sleep(0)`` hands control back to the event loop, which resumes the other
    task: ``n`` task switches in all.  Await it (top-level ``await`` in a notebook).
    """

    async def player():
        for _ in range(n // 2):
            await asyncio.sleep(0)

    start = time.perf_counter()
    await asyncio.gather(player(), player())
    return time.perf_counter() - start


def ctx_switches(scope: str = "thread") -> tuple[int, int]:
    """(voluntary, involuntary) context switches so far.

    ``scope="thread"``: psutil's ``Process().num_ctx_switches()``; on Linux
    psutil reads ``/proc/<pid>/status``, which counts the process's *main
    thread* only.  ``scope="process"``: ``getrusage(RUSAGE_SELF)``, summed
    over all threads (Unix only).
    """
    if scope == "thread":
        import psutil

        c = psutil.Process().num_ctx_switches()
        return c.voluntary, c.involuntary
    if scope == "process":
        import resource

        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_nvcsw, r.ru_nivcsw
    raise ValueError("scope must be 'thread' or 'process'")


def _tasks_in_fresh_loop(n: int) -> float:
    """:func:`pingpong_tasks` in a new event loop in a new thread (a notebook's own loop is busy)."""
    box: dict = {}

    def run() -> None:
        box["seconds"] = asyncio.run(pingpong_tasks(n))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(60)
    if "seconds" not in box:
        raise TimeoutError("pingpong_tasks did not finish")
    return box["seconds"]


HANDOFFS = {"threads": pingpong_threads, "generators": pingpong_generators,
            "greenlets": pingpong_greenlets, "asyncio tasks": _tasks_in_fresh_loop}


def handoff_costs(n: int = 10_000, repeat: int = 5) -> dict[str, dict]:
    """Seconds per hand-off for threads, generators, greenlets and asyncio tasks.

    Each kind passes control ``n`` times between two players (see the
    ping-pong functions), ``repeat`` times in shuffled rounds; the fastest run
    counts.  For that run it also reports the voluntary and involuntary
    context switches the operating system made in this process
    (``getrusage``, all threads; ``psutil`` where there is no ``resource``),
    per hand-off.  Returns ``{kind: {"seconds": s, "voluntary": v, "involuntary": i}}``.
    """
    scope = "process"
    try:
        import resource  # noqa: F401  (Unix)
    except ImportError:
        scope = "thread"
    best: dict[str, dict] = {}

    def measure(kind: str):
        def once() -> float:
            v0, i0 = ctx_switches(scope)
            seconds = HANDOFFS[kind](n)
            v1, i1 = ctx_switches(scope)
            if kind not in best or seconds / n < best[kind]["seconds"]:
                best[kind] = {"seconds": seconds / n, "voluntary": (v1 - v0) / n, "involuntary": (i1 - i0) / n}
            return seconds
        return once

    timing.best_of({kind: measure(kind) for kind in HANDOFFS}, repeat=repeat)
    return {kind: best[kind] for kind in HANDOFFS}


def _processes(method: str, n: int) -> None:
    ctx = multiprocessing.get_context(method)
    ps = [ctx.Process(target=workloads.noop) for _ in range(n)]
    for p in ps:
        p.start()
    for p in ps:
        p.join(60)
    if any(p.exitcode != 0 for p in ps):
        raise RuntimeError(f"a {method} child process failed")


def _threads(n: int) -> None:
    ts = [threading.Thread(target=workloads.noop) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)


def _greenlets(n: int) -> None:
    import greenlet

    for _ in range(n):
        greenlet.greenlet(workloads.noop).switch()


def _generators(n: int) -> None:
    def one_step():
        yield

    for _ in range(n):
        list(one_step())


def _asyncio_tasks(n: int) -> None:
    async def nothing():
        pass

    async def main():
        await asyncio.gather(*[asyncio.create_task(nothing()) for _ in range(n)])

    box: dict = {}

    def run() -> None:
        asyncio.run(main())
        box["done"] = True

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(60)
    if not box:
        raise TimeoutError("asyncio tasks did not finish")


def creation_costs(n: int = 1000, n_proc: int = 8, methods=("spawn", "forkserver"),
                   repeat: int = 3) -> dict[str, float]:
    """Seconds to create and finish 1 000 of each kind, best of ``repeat`` shuffled rounds.

    Kinds: ``"process (<method>)"`` for each available start method in
    ``methods`` (``n_proc`` processes started together, then joined, scaled
    to 1 000: creation cost grows linearly with the count), ``"thread"``,
    ``"greenlet"``, ``"generator"`` and ``"asyncio task"`` (``n`` of each,
    scaled to 1 000).  Every unit runs an empty function.  ``fork`` is left
    out on purpose: it is unsafe in a process that has threads, as a kernel has.
    """
    makers: dict[str, tuple] = {}
    for method in methods:
        if method in multiprocessing.get_all_start_methods():
            _processes(method, 1)   # warm-up (starts a fork server once)
            makers[f"process ({method})"] = (lambda k, m=method: _processes(m, k), n_proc)
    makers.update({"thread": (_threads, n), "greenlet": (_greenlets, n),
                   "generator": (_generators, n), "asyncio task": (_asyncio_tasks, n)})

    def per_1000(make, k: int):
        def once() -> float:
            t0 = time.perf_counter()
            make(k)
            return (time.perf_counter() - t0) / k * 1000
        return once

    best = timing.best_of({kind: per_1000(*mk) for kind, mk in makers.items()}, repeat=repeat).best
    return {kind: best[kind] for kind in makers}


def _memory() -> tuple[int, int]:
    import psutil

    m = psutil.Process().memory_info()
    return m.rss, m.vms


def memory_per_unit(kind: str, n: int, timeout: float = 20.0) -> dict:
    """Create ``n`` idle units of ``kind``, measure memory, tear them down.

    ``kind`` is ``"thread"`` (blocked on an Event), ``"greenlet"`` (switched
    out a few calls deep), ``"generator"`` (suspended at a ``yield``) or
    ``"asyncio task"`` (awaiting an Event, in a private event loop in a helper
    thread).  Returns ``{'kind', 'n', 'rss_per_unit', 'vms_per_unit'}`` in
    bytes: the growth of the process's resident set (RAM really used) and of
    its virtual size (address space reserved) divided by ``n``.
    """
    gc.collect()
    if kind == "thread":
        gate = threading.Event()
        before = _memory()
        ts = [threading.Thread(target=gate.wait, args=(timeout,), daemon=True) for _ in range(n)]
        for t in ts:
            t.start()
        after = _memory()
        gate.set()
        for t in ts:
            t.join(timeout)
    elif kind == "greenlet":
        import greenlet

        home = greenlet.getcurrent()

        def nested(depth):
            return home.switch() if depth == 0 else nested(depth - 1)

        before = _memory()
        gs = [greenlet.greenlet(nested) for _ in range(n)]
        for g in gs:
            g.switch(3)
        after = _memory()
        for g in gs:
            g.throw(greenlet.GreenletExit)
        del gs
    elif kind == "generator":
        def idle():
            yield
            yield

        before = _memory()
        gens = [idle() for _ in range(n)]
        for g in gens:
            next(g)
        after = _memory()
        del gens
    elif kind == "asyncio task":
        box: dict = {}

        async def main():
            gate = asyncio.Event()
            box["before"] = _memory()
            tasks = [asyncio.create_task(gate.wait()) for _ in range(n)]
            await asyncio.sleep(0)  # let every task start and block
            box["after"] = _memory()
            gate.set()
            await asyncio.gather(*tasks)

        t = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
        t.start()
        t.join(timeout)
        before, after = box["before"], box["after"]
    else:
        raise ValueError(f"unknown kind {kind!r}")
    gc.collect()
    return {"kind": kind, "n": n, "rss_per_unit": (after[0] - before[0]) / n,
            "vms_per_unit": (after[1] - before[1]) / n}
