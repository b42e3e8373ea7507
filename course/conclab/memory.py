"""Helpers for 01.04-Heap-and-Stack: a process's memory map, stacks, recursion, allocations.

Linux-only functions (they read ``/proc``) return ``None`` or an empty list on
other systems instead of raising, so a notebook can guard with one ``if``.
Experiments that may crash an interpreter (deep recursion on a small C stack)
run in a fresh interpreter through :func:`run_recursion` and report back.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

PACKAGE_PARENT = Path(__file__).resolve().parent.parent
HAVE_PROC = Path("/proc/self/maps").exists()


@dataclass(frozen=True)
class Region:
    """One line of ``/proc/<pid>/maps``: ``[start, end)``, permissions, and the backing path."""

    start: int
    end: int
    perms: str
    path: str

    @property
    def size(self) -> int:
        return self.end - self.start

    def contains(self, address: int) -> bool:
        return self.start <= address < self.end


def memory_map(pid: int | str = "self") -> list[Region]:
    """Parse ``/proc/<pid>/maps`` (Linux); ``[]`` where there is no ``/proc``."""
    try:
        lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    except OSError:
        return []
    regions = []
    for line in lines:
        parts = line.split(maxsplit=5)
        start, end = (int(x, 16) for x in parts[0].split("-"))
        regions.append(Region(start, end, parts[1], parts[5].strip() if len(parts) > 5 else ""))
    return regions


def classify(region: Region, executable: str | None = None) -> str:
    """Name the kind of a region: ``text``, ``data``, ``heap``, ``stack``, ``library``,
    ``anonymous mmap``, ``file mmap`` or ``kernel`` (vdso, vvar, vsyscall).

    ``text`` and ``data`` are the mappings of the program file itself (*executable*,
    default: the real path of ``sys.executable``): executable code, then its data.
    """
    exe = executable or os.path.realpath(sys.executable)
    path = region.path
    if path == "[heap]":
        return "heap"
    if path.startswith("[stack"):
        return "stack"
    if path.startswith("[v"):
        return "kernel"
    if path == exe:
        return "text" if "x" in region.perms else "data"
    if ".so" in Path(path).name:
        return "library"
    if path == "" or path.startswith("["):
        return "anonymous mmap"
    return "file mmap"


def summarize(regions: list[Region]) -> dict[str, tuple[int, int]]:
    """``{kind: (number of regions, total bytes)}`` for *regions*, kinds in a fixed order."""
    order = ["text", "data", "heap", "library", "anonymous mmap", "file mmap", "stack", "kernel"]
    out = {kind: (0, 0) for kind in order}
    for region in regions:
        kind = classify(region)
        count, size = out[kind]
        out[kind] = (count + 1, size + region.size)
    return out


def region_of(address: int, regions: list[Region] | None = None) -> Region | None:
    """The region that contains *address* (default: in this process's current map)."""
    for region in memory_map() if regions is None else regions:
        if region.contains(address):
            return region
    return None


def stack_pointer(native_id: int) -> int | None:
    """The stack pointer of thread *native_id* of this process, or ``None`` if unavailable.

    Linux reports it in ``/proc/self/task/<tid>/syscall`` (second-to-last field)
    while the thread is inside a system call, e.g. blocked on a lock; a thread
    reading its own file is inside ``read()``.  See proc(5).
    """
    try:
        fields = Path(f"/proc/self/task/{native_id}/syscall").read_text().split()
    except OSError:
        return None
    if len(fields) < 3 or fields[0] == "running":
        return None
    return int(fields[-2], 16)


def thread_stack_region(stack_size: int | None = None, timeout: float = 10.0) -> Region | None:
    """Start a thread (with ``threading.stack_size(stack_size)`` if given), park it on an
    Event, and return the memory region its stack pointer lies in.

    The previous stack-size setting is restored.  ``None`` where ``/proc`` cannot tell.
    """
    parked = threading.Event()
    release = threading.Event()

    def park():
        parked.set()
        release.wait(timeout)

    old = threading.stack_size(stack_size) if stack_size else None
    try:
        thread = threading.Thread(target=park, daemon=True)
        thread.start()
    finally:
        if stack_size:
            threading.stack_size(old)
    try:
        parked.wait(timeout)
        sp = None
        for _ in range(200):  # the thread needs a moment to enter the futex wait
            sp = stack_pointer(thread.native_id)
            region = region_of(sp) if sp else None
            if region is not None:
                return region
            release.wait(0.01)
        return None
    finally:
        release.set()
        thread.join(timeout)


def python_depth() -> int:
    """How many Python frames are on this thread's call stack right now."""
    frame, depth = sys._getframe(), 0
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return depth


# --------------------------------------------------------------------------
# Recursion experiments in a fresh interpreter: python -m conclab.memory ...
# --------------------------------------------------------------------------


def _py_recurse(n: int) -> int:
    """Plain Python-to-Python recursion."""
    return 0 if n == 0 else 1 + _py_recurse(n - 1)


def _c_recurse(n: int) -> int:
    """Recursion that passes through C at every level (``max`` and ``map`` call back into Python)."""
    return 0 if n == 0 else 1 + max(map(_c_recurse, [n - 1]))


def _recursion(kind: str, depth: int, stack_kib: int = 0, limit: int = 0) -> dict:
    """Recurse *depth* levels (``kind`` = ``"python"`` or ``"c"``) in a thread whose C stack
    is *stack_kib* KiB (0: the platform default), with recursion limit *limit* (0: keep)."""
    if limit:
        sys.setrecursionlimit(limit)
    if stack_kib:
        threading.stack_size(stack_kib * 1024)
    result = {}

    def run():
        try:
            result["depth"] = (_py_recurse if kind == "python" else _c_recurse)(depth)
        except RecursionError as exc:
            result["error"] = f"RecursionError: {exc}"

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result


def run_recursion(kind: str, depth: int, stack_kib: int = 0, limit: int = 0,
                  timeout: float = 60.0) -> dict:
    """Run :func:`_recursion` in a fresh interpreter and describe how it ended.

    Returns ``{"outcome": "ok" | "RecursionError" | "crashed", "returncode", "detail"}``;
    ``crashed`` means the interpreter was killed by a signal (a C stack overflow ends
    in SIGSEGV), which is exactly why this runs in a child process.
    """
    args = json.dumps({"kind": kind, "depth": depth, "stack_kib": stack_kib, "limit": limit})
    proc = subprocess.run([sys.executable, "-X", "faulthandler", "-m", "conclab.memory", args],
                          capture_output=True, text=True, timeout=timeout, cwd=PACKAGE_PARENT)
    if proc.returncode != 0:
        detail = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else proc.stderr[-300:]
        return {"outcome": "crashed", "returncode": proc.returncode, "detail": detail}
    report = json.loads(proc.stdout.splitlines()[-1])
    if "error" in report:
        return {"outcome": "RecursionError", "returncode": 0, "detail": report["error"]}
    return {"outcome": "ok", "returncode": 0, "detail": f"depth {report['depth']}"}


# --------------------------------------------------------------------------
# tracemalloc
# --------------------------------------------------------------------------


def squares_list(n: int) -> int:
    """Sum of squares below *n*, materialising a list of all of them first."""
    values = [i * i for i in range(n)]
    return sum(values)


def squares_gen(n: int) -> int:
    """Sum of squares below *n*, one value at a time (a generator expression)."""
    return sum(i * i for i in range(n))


def make_index(n: int) -> dict[str, int]:
    """Build and return a dict ``{"key0": 0, ...}`` of *n* entries (a workload that keeps
    its allocations, for a tracemalloc snapshot)."""
    return {f"key{i}": i for i in range(n)}


def traced(fn, *args) -> tuple[object, int, int]:
    """Run ``fn(*args)`` under tracemalloc: ``(result, bytes still allocated, peak bytes)``.

    Counts only what the call allocates (the counters are reset before it), and
    stops tracing afterwards if it was not already on.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    try:
        result = fn(*args)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return result, current - before, peak - before


# --------------------------------------------------------------------------
# Where malloc puts a block: brk heap or anonymous mmap (glibc)
# --------------------------------------------------------------------------

MALLOC_STEPS = (
    ("an empty list (a small object: pymalloc)", "small"),
    ("1 KiB of bytes (malloc, below the threshold)", "medium"),
    ("16 MiB of bytes (malloc, above the threshold)", "big"),
    ("16 MiB of bytes again, after freeing the first", "big again"),
)


def _malloc_where() -> dict:
    """In this (fresh) interpreter: the kind of region each object of :data:`MALLOC_STEPS` lands in."""
    def where(obj) -> str:
        region = region_of(id(obj))
        return classify(region) if region else "unknown"

    MiB = 1024 * 1024
    small, medium = [], bytes(1024)
    out = {"small": where(small), "medium": where(medium)}
    big = bytes(16 * MiB)
    out["big"] = where(big)
    del big                                  # free(): glibc may raise its mmap threshold now
    big = bytes(16 * MiB)
    out["big again"] = where(big)
    return out


def malloc_regions(fixed_threshold: int | None = None, timeout: float = 60.0) -> dict:
    """Run :func:`_malloc_where` in a fresh interpreter and return its answers.

    A fresh interpreter, because glibc's mmap threshold is per process and
    changes as the process frees large blocks (mallopt(3)): a kernel that has
    run other cells may already have moved it.  ``fixed_threshold`` sets the
    environment variable ``MALLOC_MMAP_THRESHOLD_`` (bytes), which fixes the
    threshold and turns its dynamic adjustment off.  Linux only: returns ``{}``
    where there is no ``/proc``.
    """
    if not HAVE_PROC:
        return {}
    env = dict(os.environ)
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    if fixed_threshold is not None:
        env["MALLOC_MMAP_THRESHOLD_"] = str(fixed_threshold)
    proc = subprocess.run([sys.executable, "-m", "conclab.memory", "malloc"], capture_output=True,
                          text=True, timeout=timeout, cwd=PACKAGE_PARENT, env=env, check=True)
    return json.loads(proc.stdout.splitlines()[-1])


def main(argv: list[str]) -> int:
    if argv[:1] == ["malloc"]:
        print(json.dumps(_malloc_where()))
        return 0
    print(json.dumps(_recursion(**json.loads(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
