"""Deadlocks you can watch without hanging the kernel, and pictures of them.

Used by ``02.04-Deadlock.ipynb``.  Every demonstration here is *bounded*:

* threads are daemon threads and wait with :func:`patient_acquire`, a blocking
  acquire that gives up only when the demo's ``abort`` event is set (a real
  deadlocked thread would wait forever; ours can be called off);
* the caller detects the deadlock the way a watchdog would, with
  ``join(timeout)``, takes a snapshot of who holds and who waits, then sets
  ``abort`` so every thread leaves;
* processes are killed, and their pipes closed, after a timeout.

Contents: :func:`two_locks` (lock-order deadlock, made deterministic with a
:class:`threading.Barrier`), :func:`wait_for_edges`, :func:`draw_resource_graph`,
:func:`draw_wait_for`,
:func:`dine` (dining philosophers with a pluggable strategy),
:func:`draw_table`, :func:`plot_dinner`, :func:`queue_join` (the
multiprocessing-docs deadlock), :func:`pipe_exchange` (two processes that
both write before they read).
"""
from __future__ import annotations

import math
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- bookkeeping


class Abort(Exception):
    """Raised inside a demo thread when the demo is called off."""


@dataclass
class Snapshot:
    """Who holds which lock and who waits for which, at one moment."""

    holds: dict[str, list[str]] = field(default_factory=dict)
    waits: dict[str, str] = field(default_factory=dict)


class Board:
    """A notice board where demo threads write what they hold and what they wait for.

    This is the information a deadlock detector needs; here the threads post
    it by hand.  (Packing it into a lock class is part of assignment ps2.)
    """

    def __init__(self):
        self._mutex = threading.Lock()
        self._holds: dict[str, list[str]] = {}
        self._waits: dict[str, str] = {}
        self.abort = threading.Event()
        self.events: list[tuple[str, str, float]] = []  # (thread, what, perf_counter)

    def _log(self, who, what):
        self.events.append((who, what, time.perf_counter()))

    def waiting(self, who: str, lock: str) -> None:
        with self._mutex:
            self._waits[who] = lock
            self._log(who, f"wait {lock}")

    def got(self, who: str, lock: str) -> None:
        with self._mutex:
            self._waits.pop(who, None)
            self._holds.setdefault(who, []).append(lock)
            self._log(who, f"got {lock}")

    def gave_up(self, who: str) -> None:
        with self._mutex:
            self._waits.pop(who, None)
            self._log(who, "gave up")

    def released(self, who: str, lock: str) -> None:
        with self._mutex:
            self._holds[who].remove(lock)
            self._log(who, f"released {lock}")

    def snapshot(self) -> Snapshot:
        with self._mutex:
            return Snapshot({k: list(v) for k, v in self._holds.items() if v}, dict(self._waits))


def patient_acquire(lock, who: str, name: str, board: Board, poll: float = 0.02) -> None:
    """Acquire ``lock`` like ``lock.acquire()`` would (wait as long as it takes),
    but post the wait on ``board`` and give up with :class:`Abort` if ``board.abort`` is set."""
    board.waiting(who, name)
    while not lock.acquire(timeout=poll):
        if board.abort.is_set():
            board.gave_up(who)
            raise Abort(who)
    board.got(who, name)


def release(lock, who: str, name: str, board: Board) -> None:
    lock.release()
    board.released(who, name)


# --------------------------------------------------------------------------- two locks


@dataclass
class Outcome:
    deadlocked: bool
    finished: list[str]
    snapshot: Snapshot
    events: list = field(default_factory=list)
    stacks: dict = field(default_factory=dict)  # thread name -> [(function, source line), ...] innermost last


def where(threads, depth: int = 2, filename: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """The innermost ``depth`` frames of each live thread: ``{name: [(function, line), ...]}``.

    This is what a watchdog prints when it suspects a deadlock (compare
    ``faulthandler.dump_traceback`` and ``py-spy dump``).  Uses
    ``sys._current_frames()``, a CPython debugging hook.  With ``filename``,
    only frames of that source file count (library frames are skipped).
    """
    frames = sys._current_frames()
    out = {}
    for t in threads:
        frame = frames.get(t.ident)
        if frame is None or not t.is_alive():
            continue
        stack = [fs for fs in traceback.extract_stack(frame) if filename is None or fs.filename == filename]
        out[t.name] = [(fs.name, (fs.line or "").strip()) for fs in stack[-depth:]]
    return out


def two_locks(order1=("A", "B"), order2=("B", "A"), timeout: float = 1.0,
              force: bool = True) -> Outcome:
    """Two threads each take two locks in the given orders; did they deadlock?

    With ``force=True`` both threads meet at a Barrier after taking their first
    lock, which makes the bad interleaving certain when the orders differ.
    (When the orders agree, the second thread is stuck waiting for the first
    lock and never reaches the barrier: the barrier times out, the first
    thread carries on; that too is the point.)  After ``timeout`` seconds the
    caller looks: threads still alive are deadlocked.  Then the demo is
    called off and every thread leaves.
    """
    locks = {"A": threading.Lock(), "B": threading.Lock()}
    board = Board()
    barrier = threading.Barrier(2, timeout=min(0.5, timeout / 2))
    finished = []

    def worker(who, order):
        first, second = order
        try:
            patient_acquire(locks[first], who, first, board)
            if force:
                try:
                    barrier.wait()
                except threading.BrokenBarrierError:
                    pass
            patient_acquire(locks[second], who, second, board)
            finished.append(who)  # the work would go here
            release(locks[second], who, second, board)
            release(locks[first], who, first, board)
        except Abort:
            pass  # locks held now are simply dropped with the demo

    threads = [threading.Thread(target=worker, args=(f"T{i}", order), daemon=True, name=f"T{i}")
               for i, order in ((1, order1), (2, order2))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = any(t.is_alive() for t in threads)
    snap = board.snapshot()
    stacks = where(threads, depth=2, filename=__file__)
    board.abort.set()
    for t in threads:
        t.join(5.0)
    return Outcome(stuck, sorted(finished), snap, list(board.events), stacks)


def wait_for_edges(snapshot: Snapshot) -> list[tuple[str, str, str]]:
    """Turn *holds* and *waits* into wait-for edges ``(waiter, holder, lock)``.

    ``T1 -> T2`` means "T1 waits for a lock that T2 holds".
    """
    owner = {lock: who for who, held in snapshot.holds.items() for lock in held}
    return [(who, owner[lock], lock) for who, lock in sorted(snapshot.waits.items()) if lock in owner]


# --------------------------------------------------------------------------- drawing


def _ring_order(snapshot: Snapshot) -> list[str]:
    """Threads and locks in the order met when following waits -> holder -> waits ...

    Laid out on one circle in this order, a wait cycle is drawn as a ring.
    """
    owner = {lk: who for who, held in snapshot.holds.items() for lk in held}
    threads = sorted(set(snapshot.holds) | set(snapshot.waits), key=_natural)
    locks = sorted({lk for held in snapshot.holds.values() for lk in held} | set(snapshot.waits.values()), key=_natural)
    order: list[str] = []
    for start in threads:
        node = start
        while node not in order and node is not None:
            order.append(node)
            lk = snapshot.waits.get(node)
            if lk is None or lk in order:
                break
            order.append(lk)
            node = owner.get(lk)
        for lk in snapshot.holds.get(start, []):  # locks held but not waited for
            if lk not in order:
                order.append(lk)
    return order + [lk for lk in locks if lk not in order]


def _natural(name: str):
    digits = "".join(ch for ch in name if ch.isdigit())
    return (name.rstrip("0123456789"), int(digits) if digits else -1, name)


def _circle(names, radius=1.0, start=90.0):
    """Place ``names`` counter-clockwise on a circle, the first at the top (like :func:`draw_table`)."""
    n = max(1, len(names))
    return {name: (radius * math.cos(math.radians(start + 360 * i / n)),
                   radius * math.sin(math.radians(start + 360 * i / n)))
            for i, name in enumerate(names)}


def _arrow(ax, p, q, color, label=None, shrink=0.2, rad=0.0, dashed=False):
    (x0, y0), (x1, y1) = p, q
    dx, dy = x1 - x0, y1 - y0
    d = math.hypot(dx, dy) or 1.0
    a = (x0 + dx * shrink / d, y0 + dy * shrink / d)
    b = (x1 - dx * shrink / d, y1 - dy * shrink / d)
    ax.annotate("", xy=b, xytext=a,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=2, mutation_scale=16,
                                linestyle="--" if dashed else "-", connectionstyle=f"arc3,rad={rad}"))
    if label:
        # the middle of an arc3 curve is offset by rad * distance, perpendicular to the chord
        mx = (a[0] + b[0]) / 2 + rad * (b[1] - a[1]) / 2
        my = (a[1] + b[1]) / 2 - rad * (b[0] - a[0]) / 2
        off = mx - (a[0] + b[0]) / 2
        ha = "center" if abs(off) < 0.05 else ("left" if off > 0 else "right")
        ax.text(mx, my, label, ha=ha, va="center", fontsize=9, color=color,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"))


def _frame(ax, title):
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title)


def _size(count: int) -> float:
    """Node radius that leaves room for arrows between neighbours on a unit circle."""
    return min(0.2, 0.5 * math.sin(math.pi / max(count, 2)))


def _node(ax, xy, name, kind, hot=False, r=0.2):
    from matplotlib.patches import Circle, Rectangle

    if kind == "thread":
        ax.add_patch(Circle(xy, r, fc="#ffd6d6" if hot else "#dde8ff", ec="tab:red" if hot else "black", lw=2))
    else:
        ax.add_patch(Rectangle((xy[0] - 0.75 * r, xy[1] - 0.75 * r), 1.5 * r, 1.5 * r, fc="#fff2b3", ec="black", lw=1.5))
    ax.text(*xy, name, ha="center", va="center", fontsize=10 if r >= 0.15 else 8,
            fontweight="bold" if kind == "thread" else "normal")


def draw_resource_graph(snapshot: Snapshot, ax=None, title: str | None = None):
    """Resource-allocation graph: threads (circles), locks (squares).

    Solid black arrow lock -> thread: the lock is *held by* the thread.
    Dashed blue arrow thread -> lock: the thread *waits for* the lock.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    threads = set(snapshot.holds) | set(snapshot.waits)
    pos = _circle(_ring_order(snapshot))
    r = _size(len(pos))
    labels = len(pos) <= 6
    for who, held in snapshot.holds.items():
        for lk in held:
            _arrow(ax, pos[lk], pos[who], "black", "held by" if labels else None, rad=0.2, shrink=r + 0.03)
    for who, lk in snapshot.waits.items():
        _arrow(ax, pos[who], pos[lk], "tab:blue", "waits for" if labels else None, rad=0.2, shrink=r + 0.03,
               dashed=True)
    for name, xy in pos.items():
        _node(ax, xy, name, "thread" if name in threads else "lock", r=r)
    _frame(ax, title or "resource-allocation graph")
    return ax


def draw_wait_for(snapshot: Snapshot, ax=None, title: str | None = None, cycle=()):
    """Wait-for graph: one node per thread, an arrow ``T1 -> T2`` labelled with
    the lock when T1 waits for a lock that T2 holds.  Threads named in
    ``cycle`` are shaded red.  A deadlock is a cycle in this graph.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    threads = set(snapshot.holds) | set(snapshot.waits)
    pos = _circle([n for n in _ring_order(snapshot) if n in threads], 0.9)
    r = _size(len(pos))
    for waiter, holder, lk in wait_for_edges(snapshot):
        _arrow(ax, pos[waiter], pos[holder], "tab:red", f"wants {lk}", rad=0.25, shrink=r + 0.04)
    for name, xy in pos.items():
        _node(ax, xy, name, "thread", hot=name in cycle, r=r)
    _frame(ax, title or "wait-for graph")
    return ax


# --------------------------------------------------------------------------- dining philosophers


@dataclass
class Dinner:
    n: int
    meals: dict[int, int]
    deadlocked: bool
    snapshot: Snapshot
    intervals: list[tuple[int, str, float, float]]  # (philosopher, "holds, waits"|"eating", start, end)
    max_eating: int


def naive_pick_up(i, left, right, take):
    """Everyone takes the left fork, then the right one (the textbook deadlock)."""
    take(left)
    take(right)


def dine(pick_up=naive_pick_up, n: int = 5, meals: int = 3, eat: float = 0.01,
         timeout: float = 2.0, force: bool = True, extra_locks: dict | None = None) -> Dinner:
    """Seat ``n`` philosophers; each tries to eat ``meals`` times.

    ``pick_up(i, left, right, take)`` is the strategy: ``left``/``right`` are
    the *names* of philosopher ``i``'s forks (``"F{i}"``, ``"F{(i+1)%n}"``);
    call ``take(name)`` to acquire a fork (or any lock named in
    ``extra_locks``, e.g. ``{"table": threading.Lock()}``).  After eating,
    every lock the philosopher took is released, last taken first.

    With ``force=True`` every philosopher waits at a Barrier right after the
    very first ``take`` of the evening (with a short timeout), so the naive
    strategy deadlocks every time rather than once in a while.  The dinner is
    called off after ``timeout`` seconds; ``deadlocked`` says whether anyone
    was still stuck then.
    """
    locks = {f"F{k}": threading.Lock() for k in range(n)}
    locks.update(extra_locks or {})
    board = Board()
    barrier = threading.Barrier(n, timeout=0.3)
    meals_eaten = {i: 0 for i in range(n)}
    intervals = []
    meter_lock = threading.Lock()
    eating = [0, 0]  # now, max

    def philosopher(i):
        who = f"P{i}"
        first_take = [True]
        taken: list[str] = []
        t_first = [0.0]  # when the current attempt took its first lock

        def take(name):
            patient_acquire(locks[name], who, name, board)
            taken.append(name)
            if len(taken) == 1:
                t_first[0] = time.perf_counter()
            if first_take[0] and force:
                first_take[0] = False
                try:
                    barrier.wait()
                except threading.BrokenBarrierError:
                    pass

        try:
            for _ in range(meals):
                pick_up(i, f"F{i}", f"F{(i + 1) % n}", take)
                start = time.perf_counter()
                intervals.append((i, "holds, waits", t_first[0], start))
                with meter_lock:
                    eating[0] += 1
                    eating[1] = max(eating[1], eating[0])
                time.sleep(eat)
                with meter_lock:
                    eating[0] -= 1
                intervals.append((i, "eating", start, time.perf_counter()))
                meals_eaten[i] += 1
                while taken:
                    name = taken.pop()
                    release(locks[name], who, name, board)
                time.sleep(eat / 2)  # think
        except Abort:
            if taken:
                intervals.append((i, "holds, waits", t_first[0], time.perf_counter()))

    threads = [threading.Thread(target=philosopher, args=(i,), daemon=True, name=f"P{i}") for i in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = any(t.is_alive() for t in threads)
    snap = board.snapshot()
    board.abort.set()
    for t in threads:
        t.join(5.0)
    rel = [(i, kind, a - t0, b - t0) for i, kind, a, b in intervals]
    return Dinner(n, meals_eaten, stuck, snap, sorted(rel), eating[1])


def draw_table(n: int = 5, snapshot: Snapshot | None = None, ax=None, title: str | None = None):
    """Draw the round table: philosophers ``P0..`` and forks ``F0..`` between them.

    Philosopher ``Pi`` uses fork ``Fi`` (on its left) and ``F(i+1)`` (on its
    right).  A fork someone holds is drawn black and pulled towards its
    holder; a free fork is grey.  A dashed blue arrow points from a waiting
    philosopher to the fork it waits for; philosophers on a wait cycle are red.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    snapshot = snapshot or Snapshot()
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.add_patch(Circle((0, 0), 0.78, fc="#f3e6d0", ec="#a0825a", lw=2))

    def at(angle, r):
        return r * math.cos(math.radians(angle)), r * math.sin(math.radians(angle))

    ang = {f"P{i}": 90 + 360 * i / n for i in range(n)}  # counter-clockwise
    ang.update({f"F{i}": 90 + 360 * i / n - 180 / n for i in range(n)})  # Fi between P(i-1) and Pi
    owner = {lk: who for who, held in snapshot.holds.items() for lk in held}
    edges = wait_for_edges(snapshot)
    hot = {w for w, _, _ in edges} & {h for _, h, _ in edges}
    for i in range(n):
        name = f"P{i}"
        ax.add_patch(Circle(at(ang[name], 1.05), 0.2, fc="#ffd6d6" if name in hot else "#dde8ff",
                            ec="black", lw=1.5))
        ax.text(*at(ang[name], 1.05), name, ha="center", va="center", fontweight="bold")
    forks = {}
    for i in range(n):
        name = f"F{i}"
        a = ang[name]
        if name in owner:
            a = a + 0.55 * ((ang[owner[name]] - a + 180) % 360 - 180)
        x, y = at(a, 0.58)
        ux, uy = at(a, 0.16)
        ax.plot([x - ux, x + ux], [y - uy, y + uy], color="black" if name in owner else "grey", lw=4,
                solid_capstyle="round")
        ax.text(*at(a, 0.32), name, ha="center", va="center", fontsize=9)
        forks[name] = (x, y)
    for who, lk in snapshot.waits.items():
        if who in ang and lk in forks:
            _arrow(ax, at(ang[who], 1.05), forks[lk], "tab:blue", None, shrink=0.2, rad=0.0, dashed=True)
    _frame(ax, title or "the table")
    return ax


def plot_dinner(dinner: Dinner, ax=None, title: str | None = None):
    """Timeline: one row per philosopher; grey = holding a fork and waiting, green = eating."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 2.8))
    colors = {"holds, waits": "#c9c9c9", "eating": "tab:green"}
    for i, kind, a, b in dinner.intervals:
        ax.broken_barh([(a, max(b - a, 1e-4))], (i - 0.35, 0.7), color=colors[kind])
    ax.set_yticks(range(dinner.n), [f"P{i} ({dinner.meals[i]} meals)" for i in range(dinner.n)])
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the dinner started")
    ax.set_title(title or "grey: holds a fork, waits; green: eats")
    return ax


# --------------------------------------------------------------------------- processes


def _put_big(q, nbytes: int, ready) -> None:
    """Child: put one ``nbytes`` object on a multiprocessing Queue, say so, then exit."""
    q.put(b"x" * nbytes)  # returns at once: a feeder thread writes to the pipe
    ready.set()


def queue_join(nbytes: int, ctx, timeout: float = 2.0) -> dict:
    """The multiprocessing-docs deadlock: ``join()`` a child before draining its Queue.

    The child's feeder thread cannot finish writing a big object into the
    pipe until someone reads, and a process does not exit until its feeder
    thread has flushed, so ``join`` would wait forever.  We join with a
    timeout, report, then drain and join again.
    """
    q, ready = ctx.Queue(), ctx.Event()
    p = ctx.Process(target=_put_big, args=(q, nbytes, ready), daemon=True)
    p.start()
    try:
        if not ready.wait(30):
            raise TimeoutError("child did not start")
        p.join(timeout)  # the clock starts once the child has called put()
        stuck = p.is_alive()
        got = len(q.get(timeout=10))
        p.join(10)
        return {"stuck_before_get": stuck, "bytes_received": got, "exit_after_get": p.exitcode}
    finally:
        if p.is_alive():
            p.kill()
            p.join(5)
        q.close()
        q.join_thread()


def _write_then_read(to_parent, from_parent, nbytes: int, ready) -> None:
    """Child of :func:`pipe_exchange`: write ``nbytes`` to the parent, then read as many."""
    ready.set()
    w, r = to_parent.fileno(), from_parent.fileno()
    data = memoryview(b"c" * nbytes)
    while data:
        data = data[os.write(w, data):]
    got = 0
    while got < nbytes:
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        got += len(chunk)


def pipe_exchange(nbytes: int, ctx, timeout: float = 2.0) -> dict:
    """Two processes, two pipes; each side WRITES ``nbytes`` first and READS afterwards.

    If ``nbytes`` fits into the pipe, both writes complete into the kernel
    buffers and both sides go on to read.  One byte more, and both writers
    block on a full pipe that only the other (blocked) side would drain: a
    deadlock.  The parent's side runs in a daemon thread; after ``timeout``
    the child is killed, which breaks the parent's pipe and frees its thread.
    """
    down_r, down_w = ctx.Pipe(duplex=False)  # parent -> child
    up_r, up_w = ctx.Pipe(duplex=False)  # child -> parent
    ready = ctx.Event()
    child = ctx.Process(target=_write_then_read, args=(up_w, down_r, nbytes, ready), daemon=True)
    child.start()
    up_w.close()  # keep only our ends, or EOF/EPIPE never come
    down_r.close()
    if not ready.wait(30):  # start the clock when the child runs, not when it is spawned
        child.kill()
        raise TimeoutError("child did not start")
    state = {"parent_write_returned": False, "parent_read": 0}

    def parent_side():
        data = memoryview(b"p" * nbytes)
        try:
            while data:
                data = data[os.write(down_w.fileno(), data):]
            state["parent_write_returned"] = True
            while state["parent_read"] < nbytes:
                chunk = os.read(up_r.fileno(), 1 << 16)
                if not chunk:
                    break
                state["parent_read"] += len(chunk)
        except OSError:  # BrokenPipeError once the child is killed
            pass

    t = threading.Thread(target=parent_side, daemon=True)
    t.start()
    t.join(timeout)
    child.join(max(0.1, timeout / 4))
    deadlocked = t.is_alive() or child.is_alive()
    snapshot = dict(state)
    if child.is_alive():
        child.kill()
    child.join(5)
    t.join(5)
    down_w.close()
    up_r.close()
    return {"nbytes": nbytes, "deadlocked": deadlocked, **snapshot,
            "child_exitcode": child.exitcode}
