"""Control groups for one submission: a fair CPU share and a CPU cap, a
process cap and a memory cap for everything it starts, counted together.

Used when grading runs as root and the machine exposes writable cgroups
(v1 controllers under /sys/fs/cgroup/<controller>, or a v2 hierarchy with the
controllers enabled).  Elsewhere it does nothing and the per-process resource
limits still apply.  Why: RLIMIT_AS caps one process, not a family of them,
and without a CPU share a fork bomb in one submission starves the others
graded at the same time.
"""
from __future__ import annotations

import contextlib
import os

BASE = "/sys/fs/cgroup"


def _write(path: str, value) -> None:
    with open(path, "w") as fh:
        fh.write(str(value))


def _v2_root() -> str | None:
    try:
        with open(os.path.join(BASE, "cgroup.subtree_control")) as fh:
            enabled = fh.read().split()
    except OSError:
        return None
    return BASE if {"cpu", "pids", "memory"} <= set(enabled) else None


PERIOD_US = 100_000


def create(name: str, processes: int, memory_bytes: int, cpus: float = 0) -> list[str]:
    """Create the groups; return the cgroup.procs files to join (empty if unavailable).
    `cpus` > 0 caps the whole group at that many cores' worth of CPU time."""
    quota = int(cpus * PERIOD_US) if cpus > 0 else None
    if os.geteuid() != 0 or not os.path.isdir(BASE):
        return []
    procs = []
    root = _v2_root()
    try:
        if root:
            group = os.path.join(root, name)
            os.makedirs(group, exist_ok=True)
            _write(os.path.join(group, "cpu.weight"), 100)
            _write(os.path.join(group, "cpu.max"), f"{quota or 'max'} {PERIOD_US}")
            _write(os.path.join(group, "pids.max"), processes)
            _write(os.path.join(group, "memory.max"), memory_bytes)
            return [os.path.join(group, "cgroup.procs")]
        for controller, settings in (
            ("cpu", {"cpu.shares": 1024, "cpu.cfs_period_us": PERIOD_US, "cpu.cfs_quota_us": quota or -1}),
            ("pids", {"pids.max": processes}),
            ("memory", {"memory.limit_in_bytes": memory_bytes}),
        ):
            parent = os.path.join(BASE, controller)
            if not os.access(parent, os.W_OK):
                continue
            group = os.path.join(parent, name)
            os.makedirs(group, exist_ok=True)
            for key, value in settings.items():
                with contextlib.suppress(OSError):
                    _write(os.path.join(group, key), value)
            procs.append(os.path.join(group, "cgroup.procs"))
    except OSError:
        remove(procs)
        return []
    return procs


def attach(procs: list[str], pid: int | None = None) -> None:
    for path in procs:
        with contextlib.suppress(OSError):
            _write(path, pid or os.getpid())


def members(procs: list[str]) -> list[int]:
    found = []
    for path in procs:
        with contextlib.suppress(OSError), open(path) as fh:
            found += [int(line) for line in fh if line.strip()]
    return found


def remove(procs: list[str]) -> None:
    for path in procs:
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(path))
