"""Small, general work functions for concurrency experiments.

Every function here is defined at module level, takes and returns picklable
values and prints nothing, so it can run in a thread, in a child process under
any start method (``spawn``, ``forkserver``, ``fork``), or be wrapped by
:func:`conclab.timeline.timed` to return a timing record from a child.

=====================  ==================================================  ============
function               what it does                                        holds GIL?
=====================  ==================================================  ============
:func:`noop`           nothing (measures the cost of the container)        --
:func:`spin`           a pure-Python loop: CPU-bound bytecode              yes
:func:`calibrate_spin` finds the ``spin`` size that lasts a given time     yes
:func:`sleep_io`       ``time.sleep``: blocking wait, like I/O             released
:func:`sha256_rounds`  hashes a buffer in C (``hashlib``)                  released
                                                                           for >= 2 KiB
:func:`identify`       reports pid, thread name and native thread id       --
:func:`async_sleepers` runs an asyncio loop with many sleeping tasks       --
=====================  ==================================================  ============
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time

from .timeline import Record, worker_label

__all__ = ["noop", "spin", "calibrate_spin", "sleep_io", "sha256_rounds", "identify",
           "async_sleepers"]


def noop(*args, **kwargs) -> None:
    """Do nothing: the work of a task whose only cost is being created and finished."""
    return None


def spin(n: int) -> int:
    """CPU-bound pure Python: ``n`` loop iterations of integer arithmetic.

    Holds the GIL the whole time (only the interpreter's switch interval takes
    it away).  Returns a number that depends on every iteration, so nothing can
    be skipped.  Roughly 10-30 million iterations per second on current CPUs.
    """
    total = 0
    for i in range(n):
        total = (total + i * i) % 1_000_003
    return total


def calibrate_spin(seconds: float = 0.05, *, start: int = 20_000, repeat: int = 3) -> int:
    """Return an ``n`` for which ``spin(n)`` takes about ``seconds`` here and now.

    Doubles ``n`` until one run takes at least a fifth of the target, then
    scales linearly, using the fastest of ``repeat`` runs.  Use it to size
    experiments to the reader's machine instead of hard-coding loop counts.
    """
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    n = max(1, start)
    while True:
        best = min(_time_spin(n) for _ in range(repeat))
        if best >= seconds / 5 or n > 10**10:
            return max(1, int(n * seconds / max(best, 1e-9)))
        n *= 2


def _time_spin(n: int) -> float:
    t = time.perf_counter()
    spin(n)
    return time.perf_counter() - t


def sleep_io(seconds: float) -> float:
    """Block for ``seconds`` like an I/O wait (the GIL is released); return the time slept."""
    t = time.perf_counter()
    time.sleep(seconds)
    return time.perf_counter() - t


def sha256_rounds(size: int, rounds: int = 1) -> str:
    """Hash a ``size``-byte buffer ``rounds`` times with SHA-256; return the last hex digest.

    The hashing runs in C.  CPython's ``hashlib`` releases the GIL while it
    hashes a chunk of at least 2048 bytes (``HASHLIB_GIL_MINSIZE`` in
    ``Modules/hashlib.h``), so threads hashing large buffers run in parallel;
    with small buffers they do not.  The result is deterministic.
    """
    data = bytes(size)
    digest = b""
    for _ in range(rounds):
        h = hashlib.sha256(digest)
        h.update(data)
        digest = h.digest()
    return digest.hex()


def identify(label: str = "") -> dict:
    """Where am I running?  ``{'label', 'pid', 'thread', 'native_id'}``.

    Call it from a thread, a coroutine or a child process and compare the
    answers.  ``native_id`` is the kernel's thread id (``gettid()`` on Linux).
    """
    return {
        "label": label,
        "pid": os.getpid(),
        "thread": threading.current_thread().name,
        "native_id": threading.get_native_id(),
    }


def async_sleepers(tasks: int, seconds: float) -> list[Record]:
    """Run ``tasks`` asyncio tasks that each sleep ``seconds``, in a new event loop.

    Meant for a child process or a thread that has no running loop (it calls
    ``asyncio.run``, and raises RuntimeError where a loop is running).
    Returns one :class:`~conclab.timeline.Record` per task, labelled
    ``"task <i>"`` on worker ``worker_label()``, so the
    parent can draw "processes x coroutines" on one chart.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass  # no loop here: good
    else:
        raise RuntimeError("async_sleepers() starts its own event loop; call it from a thread "
                           "or process that has none (in a notebook: a child process or thread)")
    who = worker_label()

    async def one(i: int) -> Record:
        start = time.perf_counter()
        await asyncio.sleep(seconds)
        return Record(who, f"task {i}", start, time.perf_counter())

    async def main() -> list[Record]:
        return list(await asyncio.gather(*(one(i) for i in range(tasks))))

    return asyncio.run(main())
