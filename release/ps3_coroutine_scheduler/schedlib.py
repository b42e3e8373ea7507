"""Helpers for the ps3 tests and examples (read-only: do not edit).

* ``bounded`` / ``run_within``: run a call (your ``Scheduler.run``) with a time
  limit, like ``gradelib.bounded``; a call that is still running when the limit
  passes is *stopped* (interrupted, as the kernel's own interrupt would), so a
  scheduler that spins forever in one test does not keep burning CPU during the
  next ones.
* ``value_of``: a task's result, or an assertion that says how it failed.
* ``coarse_clock``: make ``time.monotonic()`` tick in steps, as it does on some
  systems (15.6 ms on older Windows Pythons), so that deadlines really tie.
* ``Loopback``: an echo server and its clients, written as generator tasks
  that use ``ReadWait``/``WriteWait``; every socket is non-blocking, on
  127.0.0.1, and closed at the end.
* ``asyncio_switches`` / ``scheduler_switches``: the benchmark's two workloads.
"""
import asyncio
import contextlib
import errno
import _thread
import socket
import threading
import time
from unittest import mock

import gradelib
from syscalls import ReadWait, Spawn, WriteWait


def bounded(fn, *args, within, what=None, **kwargs):
    """gradelib.bounded(fn, ...), and stop fn if it runs past `within` seconds.

    fn runs in the calling thread (the notebook's main thread); a watchdog
    thread interrupts it (KeyboardInterrupt, as the kernel's own interrupt
    does) once the time is up, and the interrupt becomes gradelib.Hang.  A
    scheduler that spins is stopped where it is; one blocked in a system call
    with no timeout is stopped when the call returns (it burns no CPU
    meanwhile).  A scheduler that catches BaseException and goes on ignores
    the interrupt, as it would ignore the kernel's: the cell's own time limit
    then stops the kernel.
    """
    label = what or f"{getattr(fn, '__qualname__', fn)}()"
    if threading.current_thread() is not threading.main_thread():
        return gradelib.bounded(fn, *args, within=within, what=label, **kwargs)
    done, fired, lock = threading.Event(), [], threading.Lock()

    def watchdog():
        if done.wait(within):
            return
        while True:
            with lock:
                if done.is_set():
                    return
                fired.append(True)
                _thread.interrupt_main()
            if done.wait(0.1):
                return

    threading.Thread(target=watchdog, name=f"schedlib.bounded:{label}", daemon=True).start()
    finished, value = False, None
    try:
        try:
            value = fn(*args, **kwargs)
            finished = True
        finally:
            with lock:  # from here on the watchdog interrupts no more
                done.set()
            for _ in range(3):
                pass  # (an interrupt the watchdog had already sent arrives here, at the latest)
    except KeyboardInterrupt:
        if not fired:
            raise  # the kernel's own interrupt (the cell's time ran out): not ours
        if finished:
            return value  # it finished just as its time ran out
        raise gradelib.Hang(f"{label} did not finish within {within} s: it hangs, spins or waits "
                            "forever (it was stopped)") from None
    return value


def run_within(scheduler, within=5, what="Scheduler.run()"):
    """scheduler.run() with a time limit; raises gradelib.Hang if it does not return."""
    return bounded(scheduler.run, within=within, what=what)


def value_of(scheduler, tid, what="task"):
    """scheduler.result(tid), or an AssertionError that says how the task failed."""
    try:
        return scheduler.result(tid)
    except Exception as exc:
        raise AssertionError(f"{what} (tid {tid!r}) did not return a value: result() raised {exc!r}") from None


@contextlib.contextmanager
def coarse_clock(step=0.1):
    """Within the block, time.monotonic() advances in steps of `step` seconds.

    The block starts just after a step, so that requests made in the next few
    milliseconds all read the same time: equal sleeps then have equal deadlines.
    """
    real = time.monotonic
    time.sleep(step - real() % step + 0.002)
    with mock.patch("time.monotonic", lambda: real() // step * step):
        yield


# --------------------------------------------------------------------------------------
# An echo server and its clients on loopback, as generator tasks.
# Each one waits *first* (ReadWait/WriteWait) and then acts: a scheduler that resumes
# a task before its socket is ready makes the task fail with BlockingIOError.

_IN_PROGRESS = {0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, 10035}  # 10035: WSAEWOULDBLOCK


class Loopback:
    """Echo server and clients on 127.0.0.1; use as a context manager (closes every socket)."""

    def __init__(self):
        self.sockets = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self.sockets.clear()

    def _own(self, sock):
        sock.setblocking(False)
        self.sockets.append(sock)
        return sock

    def listener(self, backlog=128):
        """A non-blocking listening socket on 127.0.0.1 and a free port; returns (socket, port)."""
        sock = self._own(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        sock.bind(("127.0.0.1", 0))
        sock.listen(backlog)
        return sock, sock.getsockname()[1]

    def server(self, listener, clients):
        """Task: accept `clients` connections, echo each in its own task, then close the listener.

        Returns the number of connections it accepted.
        """
        try:
            for _ in range(clients):
                yield ReadWait(listener)
                conn, _ = listener.accept()
                yield Spawn(self.handler(self._own(conn)))
        finally:
            listener.close()
        return clients

    def handler(self, conn):
        """Task: read one line from `conn`, send it back, close."""
        try:
            data = b""
            while not data.endswith(b"\n"):
                yield ReadWait(conn)
                chunk = conn.recv(65536)
                if not chunk:
                    return None
                data += chunk
            yield from self.send_all(conn, data)
            return data
        finally:
            conn.close()

    def client(self, port, message):
        """Task: connect, send `message` (bytes) and a newline, return the reply without it."""
        sock = self._own(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        try:
            err = sock.connect_ex(("127.0.0.1", port))
            if err not in _IN_PROGRESS:
                raise OSError(err, f"connect to 127.0.0.1:{port} failed")
            yield WriteWait(sock)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, f"connect to 127.0.0.1:{port} failed")
            yield from self.send_all(sock, message + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                yield ReadWait(sock)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
            return reply[:-1] if reply.endswith(b"\n") else reply
        finally:
            sock.close()

    @staticmethod
    def send_all(sock, data):
        """Sub-generator: send all of `data`, waiting for writability before each send."""
        view = memoryview(data)
        while view:
            yield WriteWait(sock)
            view = view[sock.send(view):]

    def socketpair(self):
        """Two connected non-blocking sockets (works on Windows too)."""
        a, b = socket.socketpair()
        return self._own(a), self._own(b)


# --------------------------------------------------------------------------------------
# The benchmark: `tasks` tasks, each giving the turn away `switches` times.

def _spinner(switches):
    for _ in range(switches):
        yield


def scheduler_switches(scheduler_class, tasks, switches):
    """Seconds for a new scheduler to spawn and run `tasks` generator tasks x `switches` bare yields."""
    spinners = [_spinner(switches) for _ in range(tasks)]
    start = time.perf_counter()
    sched = scheduler_class()
    for spinner in spinners:
        sched.spawn(spinner)
    sched.run()
    return time.perf_counter() - start


def asyncio_switches(tasks, switches):
    """Seconds for asyncio to start and run `tasks` tasks x `switches` ``await asyncio.sleep(0)``.

    The loop runs in a new thread, so this works inside a Jupyter kernel too
    (whose own thread already runs a loop).
    """
    async def spinner():
        for _ in range(switches):
            await asyncio.sleep(0)

    async def main():
        coros = [spinner() for _ in range(tasks)]
        start = time.perf_counter()
        await asyncio.gather(*coros)
        return time.perf_counter() - start

    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("t", asyncio.run(main())), daemon=True)
    thread.start()
    thread.join()
    return box["t"]
