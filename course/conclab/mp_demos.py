"""Helpers for 01.03-Multiprocessing: workers, start-method facts, zombies and orphans.

Everything a child process runs lives here, in an importable module, so the
examples work under every start method (``spawn`` and ``forkserver`` pickle the
target *by reference*: the child must be able to ``import conclab.mp_demos``).
Workers return their results; they never print (the order in which children
print is not deterministic, so the parent prints).

Some demonstrations install signal handlers or fork; they run in a separate
interpreter (``python -m conclab.mp_demos <demo>``, see :func:`run_demo`) so that
they cannot disturb the notebook kernel, and they print one JSON line.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

PACKAGE_PARENT = Path(__file__).resolve().parent.parent  # the folder that holds conclab/

# --------------------------------------------------------------------------
# Start methods
# --------------------------------------------------------------------------


def documented_default_start_method(platform: str = sys.platform,
                                    version: tuple[int, int] = sys.version_info[:2]) -> str:
    """The default start method the ``multiprocessing`` docs give for *platform*, *version*.

    Windows: always ``spawn``.  macOS: ``spawn`` since 3.8.  Other POSIX systems
    (Linux, the BSDs): ``fork`` up to 3.13, ``forkserver`` from 3.14.
    https://docs.python.org/3/library/multiprocessing.html#contexts-and-start-methods
    """
    if platform.startswith("win"):
        return "spawn"
    if platform == "darwin":
        return "spawn" if version >= (3, 8) else "fork"
    return "forkserver" if version >= (3, 14) else "fork"


# A notebook-style program: the worker is defined in ``__main__`` and the
# main module has no file (as in a Jupyter kernel, or ``python -c``).
MAIN_DEFINED_WORKER = '''
import multiprocessing as mp, sys

def square(x):               # defined in __main__, like a function in a notebook cell
    return x * x

ctx = mp.get_context(sys.argv[1])
p = ctx.Process(target=square, args=(3,))
p.start()
p.join(timeout=20)           # never wait forever
print("Process exitcode:", p.exitcode)

with ctx.Pool(1) as pool:
    result = pool.apply_async(square, (3,))
    try:
        print("Pool result:", result.get(timeout=float(sys.argv[2])))
    except mp.TimeoutError:
        print("Pool result: TimeoutError (the task was lost; without a timeout we would wait forever)")
    # leaving the with-block calls pool.terminate()
'''


def run_main_defined_worker(method: str, pool_timeout: float = 2.0, timeout: float = 60.0) -> dict:
    """Run :data:`MAIN_DEFINED_WORKER` in a fresh interpreter with start *method*.

    Returns ``{"returncode", "stdout" (list of lines), "cant_get_attribute" (how many
    times a child reported it), "error" (the first such line or "")}``.  The whole run
    is bounded by *timeout* seconds (``subprocess.TimeoutExpired`` if exceeded).
    """
    proc = subprocess.run([sys.executable, "-c", MAIN_DEFINED_WORKER, method, str(pool_timeout)],
                          capture_output=True, text=True, timeout=timeout)
    errors = [line for line in proc.stderr.splitlines() if "Can't get attribute" in line]
    return {
        "returncode": proc.returncode,
        "stdout": proc.stdout.splitlines(),
        "cant_get_attribute": len(errors),
        "error": errors[0].strip() if errors else "",
    }


# --------------------------------------------------------------------------
# Workers (importable, so they work under spawn and forkserver)
# --------------------------------------------------------------------------


def square(x):
    """Return ``x * x`` (the smallest useful worker)."""
    return x * x


def whoami(_=None) -> int:
    """Return the pid of the process that runs this call."""
    return os.getpid()


def seed_worker(msg: int, scale: float = 0.1) -> dict:
    """The notes' unfinished Pool worker, finished.

    Sleeps a pseudo-random time in ``[0, scale)`` seconds that depends only on
    *msg* (seeded, so every run is the same), and *returns* what the notes' version
    printed: ``{"msg", "pid", "start", "elapsed"}`` (``start`` from
    ``time.time()``, ``elapsed`` in seconds).
    """
    t_start = time.time()
    time.sleep(random.Random(msg).random() * scale)
    return {"msg": msg, "pid": os.getpid(), "start": t_start, "elapsed": time.time() - t_start}


def cpu_work(n: int) -> tuple[int, float]:
    """A pure-Python CPU-bound loop holding the GIL: returns ``(checksum, cpu_seconds)``.

    ``cpu_seconds`` is the CPU time of the *calling thread* spent in the loop
    (``time.thread_time``), so the parent can add up how much CPU its workers used.
    """
    t0 = time.thread_time()
    total = 0
    for i in range(n):
        total = (total + i * i) % 1_000_003
    return total, time.thread_time() - t0


def run_cpu_bound(kind: str, workers: int = 2, tasks: int = 4, n: int = 300_000,
                  method: str = "spawn", timeout: float = 120.0) -> dict:
    """Run *tasks* calls of :func:`cpu_work(n) <cpu_work>` serially, in threads, or in processes.

    *kind* is ``"serial"``, ``"threads"`` or ``"processes"`` (with *workers* threads or
    processes; processes use start *method*).  Returns ``{"kind", "workers", "startup",
    "wall", "cpu", "busy", "checksums"}``: ``startup`` is the time to create the pool
    and get every worker to answer once (0 for serial and threads); ``wall`` is the
    time for the tasks after that; ``cpu`` the CPU time the tasks used in total; and
    ``busy = cpu / wall`` how many cores were busy on average (about 1 for threads
    under the GIL, up to ``min(workers, cores)`` for processes).
    """
    from concurrent.futures import ThreadPoolExecutor

    from .timing import started_pool

    if kind not in ("serial", "threads", "processes"):
        raise ValueError(f"kind must be serial, threads or processes, not {kind!r}")
    t_pool = time.perf_counter()
    if kind == "serial":
        ex = None
    elif kind == "threads":
        ex = ThreadPoolExecutor(workers)
    else:
        # every worker started before the clock runs (workers start on demand since 3.9:
        # a warm-up of map(whoami, range(workers)) may be answered by one of them)
        ex, _ = started_pool(workers, method, timeout)
    start = time.perf_counter()
    try:
        if ex is None:
            out = [cpu_work(n) for _ in range(tasks)]
        else:
            futures = [ex.submit(cpu_work, n) for _ in range(tasks)]
            out = [f.result(timeout=timeout) for f in futures]
        wall = time.perf_counter() - start
    finally:
        if ex is not None:
            ex.shutdown(wait=True, cancel_futures=True)
    cpu = sum(c for _, c in out)
    return {"kind": kind, "workers": 1 if kind == "serial" else workers,
            "startup": start - t_pool if kind == "processes" else 0.0, "wall": wall,
            "cpu": cpu, "busy": cpu / wall if wall else 0.0, "checksums": [v for v, _ in out]}


def chunk_costs(n_items: int = 5_000, chunks=(1, 500), workers: int = 2, method: str = "spawn",
                repeat: int = 3, timeout: float = 120.0) -> dict:
    """How long ``ProcessPoolExecutor.map(square, range(n_items), chunksize=c)`` takes, per chunk size.

    The pool's workers are all started first (:func:`conclab.timing.started_pool`);
    the plain loop and every chunk size are timed ``repeat`` times in shuffled
    rounds, fastest kept.  Returns ``{"loop": s, 1: s, 500: s, ...}`` in seconds;
    raises if a pool computed anything other than the loop.
    """
    from .timing import best_of, started_pool

    items = range(n_items)
    expected = [square(x) for x in items]
    pool, _ = started_pool(workers, method, timeout)

    def loop() -> float:
        t0 = time.perf_counter()
        [square(x) for x in items]
        return time.perf_counter() - t0

    def chunked(c: int):
        def once() -> float:
            t0 = time.perf_counter()
            out = list(pool.map(square, items, chunksize=c, timeout=timeout))
            seconds = time.perf_counter() - t0
            if out != expected:
                raise RuntimeError("the pool computed something else")
            return seconds
        return once

    try:
        best = best_of({"loop": loop, **{c: chunked(c) for c in chunks}}, repeat=repeat).best
    finally:
        pool.shutdown(wait=True)
    return best


def fails(x):
    """Raise ``ValueError`` (to show how pools hand a worker's exception to the parent)."""
    raise ValueError(f"bad input {x!r}")


def dies(code: int = 3):
    """End the worker process abruptly with ``os._exit(code)`` (no exception, no cleanup)."""
    os._exit(code)


def put_big(q, nbytes: int) -> None:
    """Put one ``bytes`` object of *nbytes* on the multiprocessing queue *q*, then return.

    With *nbytes* larger than the pipe buffer (64 KiB on Linux), the child cannot
    exit until someone reads the item: its queue feeder thread is still writing.
    """
    q.put(b"x" * nbytes)


# --------------------------------------------------------------------------
# Process states, zombies, ps
# --------------------------------------------------------------------------


def spawn_child(*args: str, setsid: bool = False) -> int:
    """Start ``python -c "pass"`` (or ``python *args``) with ``os.posix_spawn``; return its pid.

    No ``subprocess.Popen`` object watches the child, so nothing reaps it: once it
    exits it stays a zombie until someone calls ``os.waitpid`` on it.  With
    ``setsid=True`` the child leads a new session (``ps`` then shows ``Zs``).
    POSIX only.
    """
    argv = [sys.executable] + (list(args) or ["-c", "pass"])
    return os.posix_spawn(sys.executable, argv, dict(os.environ), setsid=setsid)


def proc_state(pid: int) -> str | None:
    """The one-letter kernel state of *pid* (``R``, ``S``, ``Z``...), or ``None`` if it is gone.

    Reads ``/proc/<pid>/stat`` on Linux, asks ``ps`` elsewhere.
    """
    stat = Path(f"/proc/{pid}/stat")
    if sys.platform.startswith("linux"):
        try:
            text = stat.read_text()
        except (FileNotFoundError, ProcessLookupError):
            return None
        return text[text.rindex(")") + 2]  # the command may contain spaces and parentheses
    rows = ps_rows([pid])
    return rows[0]["stat"][0] if rows else None


def wait_for_state(pid: int, state: str, timeout: float = 10.0, settle: float = 0.0) -> bool:
    """Poll until *pid* is in *state* (e.g. ``"Z"``), and has stayed in it for *settle*
    seconds (a process starting up sleeps now and then before it reaches the sleep it
    was started for); ``False`` if *timeout* passes first."""
    deadline = time.monotonic() + timeout
    since = None
    while time.monotonic() < deadline:
        if proc_state(pid) == state:
            since = time.monotonic() if since is None else since
            if time.monotonic() - since >= settle:
                return True
        else:
            since = None
        time.sleep(0.01)
    return False


def ps_rows(pids=None) -> list[dict]:
    """Rows of ``ps -eo pid,ppid,stat,comm`` as dicts (``pid``, ``ppid`` ints; ``stat``, ``comm``).

    With *pids*, keep only those processes, in the order given.
    """
    out = subprocess.run(["ps", "-eo", "pid,ppid,stat,comm"], capture_output=True,
                         text=True, timeout=10, check=True).stdout
    rows = {}
    for line in out.splitlines()[1:]:
        parts = line.split(None, 3)
        if len(parts) == 4:
            rows[int(parts[0])] = {"pid": int(parts[0]), "ppid": int(parts[1]),
                                   "stat": parts[2], "comm": parts[3]}
    if pids is None:
        return list(rows.values())
    return [rows[p] for p in pids if p in rows]


def zombies(rows=None) -> list[dict]:
    """The zombies among *rows* (default: every process): STAT begins with ``Z``."""
    return [r for r in (ps_rows() if rows is None else rows) if r["stat"].startswith("Z")]


def grep_w(text: str, word: str) -> list[str]:
    """Lines of *text* that ``grep -w word`` prints (runs the real ``grep``)."""
    proc = subprocess.run(["grep", "-w", word], input=text, capture_output=True, text=True, timeout=10)
    return proc.stdout.splitlines()


def ps_aux() -> str:
    """The output of ``ps auxww`` (what the notes pipe into grep, at unlimited width).

    Without ``ww``, ``ps`` may cut lines to the terminal's width (80 columns when it
    cannot tell), so a word at the end of a long command line may silently vanish.
    """
    return subprocess.run(["ps", "auxww"], capture_output=True, text=True, timeout=10, check=True).stdout


def pid_of_ps_aux_line(line: str) -> int:
    """The PID column (the second) of a ``ps aux`` line."""
    return int(line.split()[1])


# --------------------------------------------------------------------------
# Demos that run in their own interpreter: python -m conclab.mp_demos <name>
# --------------------------------------------------------------------------


def _reaper_demo(n: int = 3, mode: str = "handler", timeout: float = 10.0) -> dict:
    """Start *n* short-lived children and let a SIGCHLD policy reap them.

    ``mode="handler"``: a handler calls ``waitpid(-1, WNOHANG)`` until no child is
    left to reap.  ``mode="ignore"``: ``SIGCHLD`` set to ``SIG_IGN``, so the kernel
    reaps children itself (POSIX.1-2001).  ``mode="none"``: nobody reaps.
    Returns how many children were started, reaped by the handler, and left as zombies.
    """
    reaped: list[int] = []

    def on_sigchld(signum, frame):
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:  # no children left at all
                return
            if pid == 0:               # children exist, none has exited yet
                return
            reaped.append(pid)

    if mode == "handler":
        signal.signal(signal.SIGCHLD, on_sigchld)
    elif mode == "ignore":
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    pids = [spawn_child() for _ in range(n)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [proc_state(p) for p in pids]
        if mode == "none" and all(s == "Z" for s in states):
            break
        if mode != "none" and all(s is None for s in states):
            break
        time.sleep(0.02)
    left = sum(proc_state(p) == "Z" for p in pids)
    if mode == "none":  # clean up after ourselves
        for p in pids:
            os.waitpid(p, 0)
    return {"mode": mode, "started": n, "reaped_by_handler": len(set(reaped) & set(pids)),
            "zombies_left": left}


def _set_child_subreaper() -> bool:
    """Mark this process a child subreaper (Linux ``prctl(PR_SET_CHILD_SUBREAPER)``)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _orphan_demo(subreaper: bool = True, timeout: float = 10.0) -> dict:
    """Make an orphan and report who adopts it.

    This process P starts C1, C1 starts C2, C2 starts G; then C2 exits, so G is an
    orphan while its grandparent C1 is still alive.  G reports its parent pid
    before and after C2's death through a pipe.  The kernel gives an orphan to the
    nearest ancestor that is a *child subreaper*, else to init (pid 1 of its pid
    namespace), never to the grandparent.  With *subreaper* (Linux), P first
    declares itself a subreaper with ``prctl(PR_SET_CHILD_SUBREAPER)``, adopts G and
    reaps it.  Without it, G goes to init, which must reap it (a container whose
    pid 1 does not reap collects zombies: that is what ``docker run --init`` fixes).
    Uses ``os.fork`` in a process without other threads.  POSIX only.
    """
    if subreaper:
        subreaper = _set_child_subreaper()
    ready_r, ready_w = os.pipe()                      # G -> C2: "I have noted my parent"
    report_r, report_w = os.pipe()                    # G -> P: the report
    release_r, release_w = os.pipe()                  # P -> C1: EOF means "you may exit"
    c1 = os.fork()
    if c1 == 0:                                       # C1, the grandparent
        os.close(release_w)
        c2 = os.fork()
        if c2 == 0:                                   # C2, the parent
            g = os.fork()
            if g == 0:                                # G, the future orphan
                before = os.getppid()
                os.write(ready_w, b"r")
                deadline = time.monotonic() + timeout
                while os.getppid() == before and time.monotonic() < deadline:
                    time.sleep(0.005)
                msg = {"before": before, "after": os.getppid()}
                os.write(report_w, json.dumps(msg).encode() + b"\n")
                os._exit(0)
            os.read(ready_r, 1)                       # wait until G has noted its parent
            os._exit(0)                               # C2 dies: G is an orphan now
        os.waitpid(c2, 0)                             # C1 reaps its own child C2
        os.read(release_r, 1)                         # stay alive until P has the report
        os._exit(0)
    for fd in (ready_r, ready_w, report_w, release_r):
        os.close(fd)
    with os.fdopen(report_r) as reader:
        report = json.loads(reader.readline() or "{}")
    os.close(release_w)
    os.waitpid(c1, 0)
    after = report.get("after")
    if subreaper and after == os.getpid():            # G is our child now: reap it
        os.waitpid(-1, 0)
    try:
        comm = Path(f"/proc/{after}/comm").read_text().strip()
    except OSError:
        comm = "?"
    return {"subreaper": bool(subreaper), "this_process": os.getpid(), "grandparent": c1,
            "parent_before": report.get("before"), "parent_after": after,
            "adopted_by_this_process": after == os.getpid(), "adopted_by_grandparent": after == c1,
            "adopter_comm": comm}


DEMOS = {"reaper": _reaper_demo, "orphan": _orphan_demo}


def run_demo(name: str, timeout: float = 30.0, **kwargs) -> dict:
    """Run demo *name* (``"reaper"`` or ``"orphan"``) in a fresh interpreter; return its dict.

    Keyword arguments are passed to the demo as JSON.  The child is killed after
    *timeout* seconds (``subprocess.TimeoutExpired``).
    """
    proc = subprocess.run([sys.executable, "-m", "conclab.mp_demos", name, json.dumps(kwargs)],
                          capture_output=True, text=True, timeout=timeout, cwd=PACKAGE_PARENT)
    if proc.returncode != 0:
        raise RuntimeError(f"demo {name} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.splitlines()[-1])


def main(argv: list[str]) -> int:
    name = argv[0]
    kwargs = json.loads(argv[1]) if len(argv) > 1 else {}
    print(json.dumps(DEMOS[name](**kwargs)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
