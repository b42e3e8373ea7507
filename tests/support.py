"""Helpers that many tests share, each defined once: a free port, waiting for a
condition with a timeout, a lock file held across processes, stopping a process and
everything it started, the temporary folders of runs that were killed.

The import paths (the repository, for ``grader`` and ``tools``; ``course/``, for
``conclab``) are set once for the whole suite, by conftest.py at the root; pytest
puts tests/ itself on the path, so a test imports this module as ``support``.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, what: str = "the condition", *, interval: float = 0.25,
               alive=None, retry_on: tuple[type[BaseException], ...] = ()):
    """Call check() every `interval` s until it returns something truthy, and return that.

    An exception of a type in `retry_on` counts as "not yet" (the last one is reported);
    any other propagates.  When `alive` is given and alive() is false, stop waiting at
    once (the process that should make the condition true has exited).  Raises
    TimeoutError after `timeout` s; check() runs at least once."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        if alive is not None and not alive():
            raise TimeoutError(f"gave up waiting for {what}: the process exited"
                               + (f" (last error: {last!r})" if last else ""))
        try:
            result = check()
        except retry_on as exc:
            result, last = None, exc
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}"
                               + (f" (last error: {last!r})" if last else ""))
        time.sleep(interval)


@contextlib.contextmanager
def locked(path: Path, timeout: float, what: str = "another run"):
    """Hold an exclusive lock on the file at `path` (created if missing) for the block:
    one process at a time, across xdist workers and concurrent runs.  Waits up to
    `timeout` s for `what` holds it, then raises TimeoutError."""
    def take() -> bool:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    with open(path, "a") as fh:
        wait_until(take, timeout, f"the lock {path} ({what} holds it)", interval=1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def stop_process_tree(proc: subprocess.Popen | None, timeout: float = 20, *, group: bool = True,
                      descendants: bool = True) -> None:
    """Stop `proc`, started in a session of its own (``start_new_session=True``).

    SIGTERM goes to its whole process group, or with ``group=False`` to it alone (so that
    it can stop what it started itself); after `timeout` s the group gets SIGKILL.  With
    `descendants`, every process it had started is killed afterwards as well, including
    those in sessions of their own (kernels); psutil checks that a pid was not reused."""
    if proc is None:
        return
    family = []
    if descendants:
        with contextlib.suppress(psutil.Error):
            family = psutil.Process(proc.pid).children(recursive=True)
    if group:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    elif proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    for child in family:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(family, timeout=10)


def folders_of_dead_runs(prefix: str) -> list[Path]:
    """The temporary folders named ``<prefix><pid>-...`` whose process <pid> is gone: what a run
    killed before its clean-up left (a live run's folders, and others' names, are not listed)."""
    found = []
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*-*"):
        pid = folder.name[len(prefix):].split("-")[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            found.append(folder)
    return found


def run_folder(prefix: str) -> Path:
    """A new temporary folder ``<prefix><pid>-...`` named after this process (see
    folders_of_dead_runs), that other accounts may pass through (0711) but not list."""
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    os.chmod(path, 0o711)
    return path
