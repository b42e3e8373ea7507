"""Inter-process communication on one machine: probes, child functions, a benchmark.

Used by ``02.01-IPC-on-Linux.ipynb`` and ``02.02-Shared-Memory-and-Sockets.ipynb``.  Everything that runs in a child process
is a module-level function here, so it can be pickled by reference and works
under every start method (``spawn``, ``forkserver``, ``fork``).  Callers pass
an explicit context, e.g. ``multiprocessing.get_context("spawn")``.

Children never print: they send results back and the parent prints them, in
an order the parent controls.  Every wait in this module has a timeout.

Contents
--------
* pipes: :func:`pipe_capacity` (fill a pipe with non-blocking writes until
  ``EAGAIN``), :func:`pipe_size` (``fcntl.F_GETPIPE_SZ``),
  :func:`interleaved_records` (``PIPE_BUF`` atomicity), :func:`open_fifo_writer`.
* small helpers for the demos: :func:`run_python` (a fresh interpreter that can
  ``import conclab``), :func:`read_line` (readline with a timeout),
  :func:`wait_status` (wait for a process state), :func:`rpc_proxy` (XML-RPC with a timeout),
  :func:`echo_once` / :func:`socket_client` (Unix-domain and TCP loopback),
  :func:`mq_receive` (System V message queue receive with a timeout).
* child functions: :func:`upper_echo`, :func:`sysv_child`, :func:`shm_child`,
  :func:`mmap_child`, :func:`queue_child`.
* the throughput benchmark: :func:`throughput`, :func:`benchmark`,
  :func:`format_table`, :func:`plot_throughput`.
"""
from __future__ import annotations

import errno
import mmap
import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

COURSE_DIR = Path(__file__).resolve().parent.parent
MiB = 1 << 20
KiB = 1 << 10

# --------------------------------------------------------------------------- pipes


def pipe_size(fd: int) -> int | None:
    """Return the capacity of the pipe ``fd`` as the kernel reports it.

    Uses ``fcntl(fd, F_GETPIPE_SZ)`` (Linux 2.6.35+, Python 3.10+); returns
    ``None`` where that is not available (macOS, Windows).
    """
    try:
        import fcntl
    except ImportError:  # Windows
        return None
    op = getattr(fcntl, "F_GETPIPE_SZ", None)
    if op is None:
        return None
    return fcntl.fcntl(fd, op)


def fill_nonblocking(fd: int, sizes=(4096, 1)) -> int:
    """Write into ``fd`` with non-blocking writes until the kernel says ``EAGAIN``.

    Writes ``sizes[0]`` bytes at a time until the pipe refuses, then the next
    size, and so on; returns the number of bytes accepted.  The descriptor is
    switched to non-blocking mode and left that way.
    """
    os.set_blocking(fd, False)
    total = 0
    for size in sizes:
        block = b"x" * size
        while True:
            try:
                total += os.write(fd, block)
            except BlockingIOError as exc:  # EAGAIN / EWOULDBLOCK
                assert exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK)
                break
    return total


def pipe_capacity() -> int:
    """Measure how many bytes a fresh pipe holds before a writer would block."""
    r, w = os.pipe()
    try:
        return fill_nonblocking(w)
    finally:
        os.close(r)
        os.close(w)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def interleaved_records(record_size: int, writers: int = 2, records: int = 20,
                        timeout: float = 30.0) -> int:
    """Let ``writers`` threads write ``records`` records each into ONE pipe.

    Writer *k* writes records made of the single byte ``b"A"+k``, each with
    one ``write(2)`` call of ``record_size`` bytes (a blocking write of more
    than the pipe holds is finished by the kernel in several pieces).  A
    reader thread drains the pipe.  Returns how many runs of equal bytes in
    the stream are *not* a whole number of records, i.e. how many times a
    record was split by another writer's bytes.  POSIX promises 0 when
    ``record_size <= PIPE_BUF`` (pipe(7)); above that, anything may happen.
    """
    r, w = os.pipe()
    chunks: list[bytes] = []

    def reader():
        while True:
            data = os.read(r, 1 << 16)
            if not data:
                return
            chunks.append(data)

    def writer(k):
        record = bytes([65 + k]) * record_size
        for _ in range(records):
            _write_all(w, record)

    rt = threading.Thread(target=reader, daemon=True)
    ws = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(writers)]
    rt.start()
    for t in ws:
        t.start()
    deadline = time.monotonic() + timeout
    for t in ws:
        t.join(max(0.0, deadline - time.monotonic()))
    os.close(w)
    rt.join(max(0.0, deadline - time.monotonic()))
    os.close(r)
    if rt.is_alive() or any(t.is_alive() for t in ws):
        raise TimeoutError("pipe writers/reader did not finish")
    stream = b"".join(chunks)
    if len(stream) != writers * records * record_size:
        raise RuntimeError("bytes were lost")
    return sum(1 for length in _run_lengths(stream) if length % record_size)


def _run_lengths(data: bytes) -> list[int]:
    runs, start = [], 0
    for i in range(1, len(data) + 1):
        if i == len(data) or data[i] != data[start]:
            runs.append(i - start)
            start = i
    return runs


def open_fifo_writer(path, timeout: float = 10.0) -> int:
    """Open the FIFO ``path`` for writing, waiting at most ``timeout`` s for a reader.

    A plain ``open(path, "wb")`` blocks until some process opens the FIFO for
    reading, possibly forever.  With ``O_NONBLOCK`` the open fails with
    ``ENXIO`` while there is no reader, so we retry until the deadline.
    Returns a blocking file descriptor; raises ``TimeoutError``.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"no reader opened {path} within {timeout} s") from None
            time.sleep(0.01)
        else:
            os.set_blocking(fd, True)
            return fd


# --------------------------------------------------------------------------- helpers


def run_python(code: str, *args: str, timeout: float = 20.0, **kwargs) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh ``sys.executable -c`` that can ``import conclab``.

    Output is captured as text; raises ``subprocess.TimeoutExpired`` after
    ``timeout`` seconds (the child is killed).  Extra keyword arguments go to
    :func:`subprocess.run`.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(COURSE_DIR), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, env=env, **kwargs)


def read_line(stream, timeout: float = 10.0) -> str:
    """Read one line from a subprocess pipe, or raise ``TimeoutError`` (POSIX only)."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise TimeoutError(f"no line within {timeout} s")
    line = stream.readline()
    return line.decode() if isinstance(line, bytes) else line


def echo_once(family: int, address, timeout: float = 10.0):
    """Listen on ``address`` and answer ONE client in a daemon thread.

    The thread accepts a connection, reads until the client shuts down its
    sending side, and sends the data back upper-cased.  Returns
    ``(address, thread)``; for TCP pass ``("127.0.0.1", 0)`` and read the
    chosen port from the returned address.  Join the thread with a timeout.
    """
    server = socket.socket(family, socket.SOCK_STREAM)
    server.bind(address)
    server.listen(1)
    server.settimeout(timeout)
    bound = server.getsockname()

    def serve():
        with server:
            try:
                conn, _ = server.accept()
            except socket.timeout:
                return
            with conn:
                conn.settimeout(timeout)
                data = b""
                while chunk := conn.recv(4096):
                    data += chunk
                conn.sendall(data.upper())

    thread = threading.Thread(target=serve, daemon=True, name="echo-server")
    thread.start()
    return bound, thread


def socket_client(family: str, address: str, message: str, timeout: float = 10.0) -> str:
    """Connect to ``address`` ("PATH" for ``unix``, "HOST:PORT" for ``tcp``), send, read the answer.

    Meant to run in another process: ``run_python("from conclab.ipc import
    socket_client; print(socket_client('tcp', '127.0.0.1:5000', 'hi'))")``.
    """
    if family == "unix":
        sock, addr = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), address
    else:
        host, port = address.rsplit(":", 1)
        sock, addr = socket.socket(socket.AF_INET, socket.SOCK_STREAM), (host, int(port))
    with sock:
        sock.settimeout(timeout)
        sock.connect(addr)
        sock.sendall(message.encode())
        sock.shutdown(socket.SHUT_WR)  # "I am done sending": the server sees EOF
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    return answer.decode()


def wait_status(pid: int, status: str, timeout: float = 10.0) -> bool:
    """Poll ``psutil.Process(pid).status()`` until it equals ``status`` (e.g. ``"stopped"``).

    Signals are delivered asynchronously, so a test of their effect must wait.
    Returns ``False`` after ``timeout`` seconds or if the process is gone.
    """
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == status:
                return True
        except psutil.NoSuchProcess:
            return False
        time.sleep(0.01)
    return False


def rpc_proxy(url: str, timeout: float = 10.0):
    """An ``xmlrpc.client.ServerProxy`` whose HTTP connection has a socket timeout.

    ``ServerProxy`` itself takes no timeout, so a dead server would make a call
    wait forever; this transport sets one on every connection it makes.
    """
    import xmlrpc.client

    class _Transport(xmlrpc.client.Transport):
        def make_connection(self, host):
            conn = super().make_connection(host)
            conn.timeout = timeout
            return conn

    return xmlrpc.client.ServerProxy(url, transport=_Transport(), allow_none=True)


def mq_receive(queue, type: int = 0, timeout: float = 10.0):
    """``sysv_ipc.MessageQueue.receive`` with a timeout (it has none of its own).

    Polls with ``block=False``; returns ``(message, type)`` or raises ``TimeoutError``.
    """
    import sysv_ipc

    deadline = time.monotonic() + timeout
    while True:
        try:
            return queue.receive(block=False, type=type)
        except sysv_ipc.BusyError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no message within {timeout} s") from None
            time.sleep(0.005)


def fill_message_queue(queue, size: int = 1024) -> int:
    """Send ``size``-byte messages without blocking until the queue is full; return bytes queued."""
    import sysv_ipc

    total = 0
    while True:
        try:
            queue.send(b"m" * size, block=False)
        except sysv_ipc.BusyError:
            return total
        total += size


# --------------------------------------------------------------------------- child functions


def upper_echo(conn, timeout: float = 10.0) -> None:
    """Child: answer every message on a ``multiprocessing`` Connection upper-cased until ``None``."""
    while conn.poll(timeout):
        msg = conn.recv()
        if msg is None:
            break
        conn.send(msg.upper())
    conn.close()


def sysv_child(sem_key: int, shm_key: int, mq_key: int, timeout: float = 10.0) -> None:
    """Child: find three System V objects by their keys and use them.

    Under the semaphore, upper-case the NUL-terminated text in the shared
    memory segment, then send a message of type 2 saying how long the text was.
    """
    import sysv_ipc

    sem = sysv_ipc.Semaphore(sem_key)
    shm = sysv_ipc.SharedMemory(shm_key)
    mq = sysv_ipc.MessageQueue(mq_key)
    sem.acquire(timeout)
    try:
        text = shm.read().split(b"\0", 1)[0]
        shm.write(text.upper())
    finally:
        sem.release()
        shm.detach()
    mq.send(f"upper-cased {len(text)} bytes".encode(), type=2)


def shm_child(name: str, lock, timeout: float = 10.0) -> None:
    """Child: attach to ``multiprocessing.shared_memory.SharedMemory(name)`` and upper-case it under ``lock``."""
    from multiprocessing import shared_memory

    shm = shared_memory.SharedMemory(name=name)
    try:
        if not lock.acquire(timeout=timeout):
            raise TimeoutError("lock")
        try:
            text = bytes(shm.buf).split(b"\0", 1)[0]
            shm.buf[: len(text)] = text.upper()
        finally:
            lock.release()
    finally:
        shm.close()


def mmap_child(path: str) -> None:
    """Child: map the file ``path`` shared and upper-case its contents in place."""
    with open(path, "r+b") as f, mmap.mmap(f.fileno(), 0) as m:
        m[:] = m[:].upper()
        m.flush()


def queue_child(inbox, outbox, timeout: float = 10.0) -> None:
    """Child: move objects from ``inbox`` to ``outbox`` (upper-casing strings) until ``None``."""
    while (item := inbox.get(timeout=timeout)) is not None:
        outbox.put(item.upper() if isinstance(item, str) else item)


# --------------------------------------------------------------------------- benchmark

METHODS = ("pipe", "socketpair", "tcp", "queue", "shm ring", "shm block")
METHOD_NOTES = {
    "pipe": "multiprocessing.Pipe(duplex=False): os.pipe, 4-byte length header",
    "socketpair": "multiprocessing.Pipe(): a Unix-domain socketpair",
    "tcp": "TCP over 127.0.0.1, sendall/recv_into",
    "queue": "multiprocessing.Queue: pickle + feeder thread + pipe",
    "shm ring": "SharedMemory ring of 4 slots, 2 semaphores, copy in and out",
    "shm block": "SharedMemory, producer copies it all in, consumer reads in place",
}


def _touch(buf) -> None:
    """Write one byte on every page of ``buf``: its page faults happen now, not in a timed loop.

    A process that maps shared memory gets each page into its own page table on
    first touch (a minor fault, about 16 000 of them for 64 MiB of 4 KiB pages);
    both the producer and the consumer must pay that before the clock starts.
    """
    import mmap

    for off in range(0, len(buf), mmap.PAGESIZE):
        buf[off] = 0


def _payload(chunk: int) -> bytes:
    return bytes(range(256)) * (chunk // 256) + bytes(chunk % 256)


def _produce(method: str, channel, total: int, chunk: int, ready, go, timeout: float) -> None:
    """Child side of :func:`throughput`: send ``total`` bytes in ``chunk``-sized pieces."""
    payload = _payload(chunk)
    n = total // chunk
    if method in ("pipe", "socketpair"):
        ready.set()
        go.wait(timeout)
        for _ in range(n):
            channel.send_bytes(payload)
        channel.close()
    elif method == "tcp":
        with socket.create_connection(channel, timeout=timeout) as sock:
            ready.set()
            go.wait(timeout)
            for _ in range(n):
                sock.sendall(payload)
    elif method == "queue":
        ready.set()
        go.wait(timeout)
        for _ in range(n):
            channel.put(payload)
        channel.close()
        channel.join_thread()
    elif method == "shm ring":
        from multiprocessing import shared_memory

        name, slots, empty, full = channel
        shm = shared_memory.SharedMemory(name=name)
        _touch(shm.buf)  # page faults of this process's mapping: before the clock
        ready.set()
        go.wait(timeout)
        for i in range(n):
            if not empty.acquire(timeout=timeout):
                raise TimeoutError("ring: no empty slot")
            off = (i % slots) * chunk
            shm.buf[off:off + chunk] = payload
            full.release()
        shm.close()
    elif method == "shm block":
        from multiprocessing import shared_memory

        name, done = channel
        shm = shared_memory.SharedMemory(name=name)
        _touch(shm.buf)  # page faults of this process's mapping: before the clock
        ready.set()
        go.wait(timeout)
        for i in range(n):
            shm.buf[i * chunk:(i + 1) * chunk] = payload
        done.release()
        shm.close()
    else:
        raise ValueError(method)


def throughput(method: str, total: int = 64 * MiB, chunk: int = 64 * KiB,
               ctx=None, timeout: float = 60.0) -> float:
    """Move ``total`` bytes from a child process to this one; return MiB/s.

    ``method`` is one of :data:`METHODS`.  The child starts, sets up its end
    and says *ready*; the clock starts when the parent says *go* and stops when
    the parent holds the last byte (for "shm block": when the producer says the
    block is complete; the consumer then reads it in place, without copying,
    while the producer has copied every byte into the block once).  Both sides
    touch every page of their shared mappings before the clock starts.
    Checks that every byte arrived; raises ``TimeoutError`` if the child stalls.
    ``ctx`` defaults to the ``spawn`` context (works on every OS).
    """
    import multiprocessing as mp
    from multiprocessing import shared_memory

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    if total % chunk:
        raise ValueError("total must be a multiple of chunk")
    ctx = ctx or mp.get_context("spawn")
    ready, go = ctx.Event(), ctx.Event()
    n = total // chunk
    cleanup = []
    listener = None
    if method in ("pipe", "socketpair"):
        recv_end, send_end = ctx.Pipe(duplex=(method == "socketpair"))
        channel = send_end
    elif method == "tcp":
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(timeout)
        channel = listener.getsockname()
    elif method == "queue":
        queue = ctx.Queue(maxsize=8)
        channel = queue
    elif method == "shm ring":
        slots = 4
        shm = shared_memory.SharedMemory(create=True, size=slots * chunk)
        cleanup.append(shm)
        _touch(shm.buf)
        empty, full = ctx.Semaphore(slots), ctx.Semaphore(0)
        channel = (shm.name, slots, empty, full)
    else:  # shm block
        shm = shared_memory.SharedMemory(create=True, size=total)
        cleanup.append(shm)
        _touch(shm.buf)  # every page mapped here now: first-touch page faults are not IPC
        done = ctx.Semaphore(0)
        channel = (shm.name, done)
    child = ctx.Process(target=_produce, args=(method, channel, total, chunk, ready, go, timeout),
                        daemon=True)
    child.start()
    received = 0
    try:
        if method in ("pipe", "socketpair"):
            send_end.close()  # the child has its own copy; EOF works only if we close ours
        if method == "tcp":
            sock, _ = listener.accept()
            sock.settimeout(timeout)
            cleanup.append(sock)
        if not ready.wait(timeout):
            raise TimeoutError(f"{method}: child not ready")
        start = time.perf_counter()
        go.set()
        if method in ("pipe", "socketpair"):
            for _ in range(n):
                if not recv_end.poll(timeout):
                    raise TimeoutError(method)
                received += len(recv_end.recv_bytes())
        elif method == "tcp":
            buf = bytearray(1 << 20)
            while received < total:
                got = sock.recv_into(buf)
                if not got:
                    break
                received += got
        elif method == "queue":
            for _ in range(n):
                received += len(queue.get(timeout=timeout))
        elif method == "shm ring":
            for i in range(n):
                if not full.acquire(timeout=timeout):
                    raise TimeoutError(method)
                off = (i % slots) * chunk
                received += len(bytes(shm.buf[off:off + chunk]))  # copy out, like recv does
                empty.release()
        else:
            if not done.acquire(timeout=timeout):
                raise TimeoutError(method)
            received = total if shm.buf[total - chunk:total] == _payload(chunk) else 0  # read in place
        elapsed = time.perf_counter() - start
        child.join(timeout)
        if child.exitcode != 0:
            raise RuntimeError(f"{method}: child exit code {child.exitcode}")
    finally:
        if child.is_alive():
            child.kill()
            child.join(timeout)
        if listener is not None:
            listener.close()
        if method in ("pipe", "socketpair"):
            recv_end.close()
        if method == "queue":
            queue.close()
            queue.join_thread()
        for res in cleanup:
            res.close()
            if isinstance(res, shared_memory.SharedMemory):
                res.unlink()
    if received != total:
        raise RuntimeError(f"{method}: received {received} of {total} bytes")
    return total / MiB / elapsed


def benchmark(chunks=(4 * KiB, 64 * KiB, 1 * MiB), methods=METHODS, total: int = 64 * MiB,
              ctx=None, repeat: int = 3) -> dict[tuple[str, int], float]:
    """Run :func:`throughput` for every method and chunk size; keep the best of ``repeat``.

    All (method, chunk) pairs run once per round, in a new random order every
    round (:func:`conclab.timing.best_of`), so a busy moment of another program
    cannot favour one method.  Returns ``{(method, chunk): MiB/s}``.
    """
    from .timing import best_of

    pairs = [(m, c) for c in chunks for m in methods]
    best = best_of({f"{m}|{c}": (lambda m=m, c=c: throughput(m, total, c, ctx=ctx)) for m, c in pairs},
                   repeat=repeat, pick=max).best
    return {(m, c): best[f"{m}|{c}"] for m, c in pairs}


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB and n % MiB == 0 else f"{n // KiB} KiB"


def format_table(results: dict[tuple[str, int], float], baseline: str = "pipe") -> str:
    """Text table: one row per method, MiB/s per chunk size, and the ratio to ``baseline``."""
    methods = list(dict.fromkeys(m for m, _ in results))
    chunks = sorted({c for _, c in results})
    head = f"{'method':<12}" + "".join(f"{'chunk ' + _size(c):>24}" for c in chunks)
    lines = [head, "-" * len(head)]
    for m in methods:
        cells = []
        for c in chunks:
            v, b = results[m, c], results.get((baseline, c))
            ratio = f"(x{v / b:.2f})" if b else ""
            cells.append(f"{v:>14,.0f} MiB/s {ratio:>8}")
        lines.append(f"{m:<12}" + "".join(f"{cell:>24}" for cell in cells))
    return "\n".join(lines)


def plot_throughput(results: dict[tuple[str, int], float], ax=None, title: str | None = None):
    """Grouped bar chart of :func:`benchmark` results (log scale); returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6))
    methods = list(dict.fromkeys(m for m, _ in results))
    chunks = sorted({c for _, c in results})
    width = 0.8 / len(methods)
    for k, m in enumerate(methods):
        xs = [i + (k - (len(methods) - 1) / 2) * width for i in range(len(chunks))]
        ax.bar(xs, [results[m, c] for c in chunks], width, label=m)
    ax.set_xticks(range(len(chunks)), [f"chunk {_size(c)}" for c in chunks])
    ax.set_yscale("log")
    ax.set_ylabel("MiB/s (higher is better)")
    ax.set_title(title or "Moving the same bytes from a child process to its parent")
    ax.legend(ncols=3, fontsize="small")
    return ax
