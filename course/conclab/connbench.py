"""Hold N concurrent loopback TCP connections: one event loop versus one thread each.

Run it in a subprocess (it raises its own file-descriptor limit and may start
thousands of threads, which you do not want inside a notebook kernel)::

    python -m conclab.connbench --model asyncio -n 10000
    python -m conclab.connbench --model threads -n 2000 --json

Two processes take part, so that each needs only about N file descriptors:

* the **server under test** (``--serve asyncio|threads``, started by this
  module as a child process) accepts N connections and holds all of them open
  at once; when it holds the N-th one it samples its own memory and thread
  count.  The asyncio server has one task per connection; the threaded server
  has one OS thread per connection (the classic ``accept`` + ``Thread`` design).
* the **load generator** (this process, always asyncio, identical for both
  models) opens N connections (at most ``--inflight`` handshakes at a time, so
  the listen backlog does not overflow), waits until all are open, then sends
  one line on each and reads the reply; the server answers and closes.

Everything runs on 127.0.0.1: no network is needed.  The result is one JSON
object (``--json``) or a short text report: wall times of both phases, and the
server's RSS growth, virtual-memory growth and thread count at full load.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

try:  # resource is POSIX-only
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None

try:
    import psutil
except ImportError:  # pragma: no cover - psutil is in requirements.txt
    psutil = None

MODELS = ("asyncio", "threads")
RESERVE_FDS = 64  # descriptors kept free for the interpreter, pipes, the listener...


def nofile_limits() -> tuple[int | None, int | None]:
    """Return (soft, hard) RLIMIT_NOFILE, or (None, None) where it does not exist."""
    if resource is None:
        return None, None
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def raise_nofile(wanted: int) -> int | None:
    """Raise this process's soft RLIMIT_NOFILE towards ``wanted``, never above the hard limit.

    Only the soft limit can be raised by an unprivileged process, and only up
    to the hard limit (getrlimit(2)).  Returns the new soft limit (None if the
    platform has no such limit).
    """
    soft, hard = nofile_limits()
    if soft is None:
        return None
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and target > soft:
        for value in (target, min(target, 10240)):  # macOS refuses more than OPEN_MAX (10240)
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (value, hard))
                break
            except (ValueError, OSError):
                continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def feasible(n: int, soft: int | None) -> int:
    """How many connections one process can hold with ``soft`` descriptors."""
    if soft is None or soft == getattr(resource, "RLIM_INFINITY", -1):
        return n
    return max(0, min(n, soft - RESERVE_FDS))


def memory() -> tuple[int, int]:
    """(rss, vms) of this process in bytes; (0, 0) when unknown."""
    if psutil is not None:
        info = psutil.Process().memory_info()
        return info.rss, info.vms
    if resource is not None:  # peak RSS only; KiB on Linux, bytes on macOS
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return (peak if sys.platform == "darwin" else peak * 1024), 0
    return 0, 0  # pragma: no cover


# ----------------------------------------------------------------- the servers
class _Meter:
    """Counts open connections and samples memory when the count first reaches ``n``."""

    def __init__(self, n: int):
        self.n, self.active, self.peak = n, 0, 0
        self.base_rss, self.base_vms = memory()
        self.full: dict | None = None
        self.lock = threading.Lock()

    def opened(self) -> None:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            if self.active == self.n and self.full is None:
                rss, vms = memory()
                self.full = {
                    "rss_growth": rss - self.base_rss,
                    "vms_growth": vms - self.base_vms,
                    "threads": threading.active_count(),
                    "t": time.perf_counter(),
                }

    def closed(self) -> None:
        with self.lock:
            self.active -= 1


async def _serve_asyncio(n: int, report) -> None:
    meter = _Meter(n)
    done = asyncio.Event()
    served = 0

    async def handle(reader, writer):
        nonlocal served
        meter.opened()
        try:
            writer.write(b"hi\n")  # tells the client this connection is being served
            line = await reader.readline()  # the client sends only when all N are greeted
            writer.write(b"pong " + line)
            await writer.drain()
        finally:
            writer.close()
            meter.closed()
            served += 1
            if served == n:
                done.set()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=min(n, 4096))
    report({"port": server.sockets[0].getsockname()[1]})
    async with server:
        await done.wait()
    report(_summary(meter, served))


def _serve_threads(n: int, report, stack_kib: int = 0) -> None:
    if stack_kib:
        threading.stack_size(stack_kib * 1024)
    meter = _Meter(n)
    listener = socket.create_server(("127.0.0.1", 0), backlog=min(n, 4096))
    report({"port": listener.getsockname()[1]})
    workers = []

    def handle(conn: socket.socket) -> None:
        meter.opened()
        try:
            with conn:
                conn.sendall(b"hi\n")  # tells the client this connection is being served
                line = conn.makefile("rb").readline()
                conn.sendall(b"pong " + line)
        finally:
            meter.closed()

    with listener:
        for _ in range(n):
            conn, _addr = listener.accept()
            t = threading.Thread(target=handle, args=(conn,), daemon=True)
            t.start()
            workers.append(t)
    for t in workers:
        t.join(timeout=60)
    report(_summary(meter, sum(not t.is_alive() for t in workers)))


def _summary(meter: _Meter, served: int) -> dict:
    full = meter.full or {"rss_growth": None, "vms_growth": None, "threads": None}
    return {
        "served": served,
        "peak_open": meter.peak,
        "rss_growth": full["rss_growth"],
        "vms_growth": full["vms_growth"],
        "threads_at_peak": full["threads"],
    }


def serve(model: str, n: int, stack_kib: int = 0) -> None:
    """Server child entry point: prints JSON lines (port first, summary last)."""
    def report(obj):
        print(json.dumps(obj), flush=True)

    raise_nofile(n + RESERVE_FDS)
    if model == "asyncio":
        asyncio.run(_serve_asyncio(n, report))
    else:
        _serve_threads(n, report, stack_kib)


# -------------------------------------------------------------- load generator
async def load(port: int, n: int, inflight: int = 128, timeout: float = 60.0) -> dict:
    """Open ``n`` connections, hold them all, then one request/reply on each.

    Phase 1 ends when every connection has been greeted by a running server
    handler, so the server really holds ``n`` connections at once; only then
    does phase 2 send the requests.
    """
    gate = asyncio.Semaphore(inflight)

    async def connect():
        async with gate:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await reader.readexactly(3)  # the greeting: a handler is running for it
            return reader, writer

    t0 = time.perf_counter()
    async with asyncio.timeout(timeout):
        conns = await asyncio.gather(*(connect() for _ in range(n)))
        t1 = time.perf_counter()

        async def ping(i, reader, writer):
            writer.write(b"%d\n" % i)
            await writer.drain()
            reply = await reader.read()  # server replies, then closes
            writer.close()
            return reply == b"pong %d\n" % i

        oks = await asyncio.gather(*(ping(i, r, w) for i, (r, w) in enumerate(conns)))
    t2 = time.perf_counter()
    return {"connect_s": t1 - t0, "roundtrip_s": t2 - t1, "total_s": t2 - t0, "ok": sum(oks)}


def run(model: str, n: int, inflight: int = 128, stack_kib: int = 0, timeout: float = 120.0) -> dict:
    """Start the ``model`` server in a child process, load it with ``n`` connections.

    Lowers ``n`` if this machine's RLIMIT_NOFILE cannot hold that many (the
    result's ``n`` says what was measured, ``requested`` what was asked).
    Uses ``asyncio.run``, so call it from a plain script or thread, not from a
    notebook cell (the kernel's thread already runs an event loop): notebooks
    run ``python -m conclab.connbench --json`` in a subprocess instead.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}")
    soft = raise_nofile(n + RESERVE_FDS)
    m = feasible(n, soft)
    root = Path(__file__).resolve().parent.parent  # so the child can import conclab
    cmd = [sys.executable, "-m", "conclab.connbench", "--serve", model, "-n", str(m),
           "--stack-kib", str(stack_kib)]
    child = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(timeout, child.kill)  # nothing below may wait forever
    watchdog.daemon = True
    watchdog.start()
    try:
        first = child.stdout.readline()
        if not first:
            raise RuntimeError(f"server child exited early: {child.stderr.read().strip()[-500:]}")
        port = json.loads(first)["port"]
        result = asyncio.run(load(port, m, inflight, timeout))
        out, err = child.communicate(timeout=timeout)
    except BaseException:
        child.kill()
        child.communicate()
        raise
    finally:
        watchdog.cancel()
    lines = [line for line in out.splitlines() if line.strip()]
    if child.returncode != 0 or not lines:
        raise RuntimeError(f"server child failed ({child.returncode}): {err.strip()[-500:]}")
    result.update(json.loads(lines[-1]))
    _, hard = nofile_limits()
    result.update({"model": model, "n": m, "requested": n, "nofile_soft": soft, "nofile_hard": hard})
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=MODELS, default="asyncio")
    p.add_argument("-n", type=int, default=10_000, help="concurrent connections")
    p.add_argument("--inflight", type=int, default=128,
                   help="handshakes in flight at once (keep it below the listen backlog, 128 on macOS)")
    p.add_argument("--stack-kib", type=int, default=0, help="thread stack size (0 = default)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--serve", choices=MODELS, help=argparse.SUPPRESS)  # internal: server child
    args = p.parse_args(argv)
    if args.serve:
        serve(args.serve, args.n, args.stack_kib)
        return 0
    r = run(args.model, args.n, args.inflight, args.stack_kib)
    if args.json:
        print(json.dumps(r))
    else:
        mib = 1 << 20
        print(f"{r['model']}: {r['ok']}/{r['n']} connections held at once "
              f"(asked {r['requested']}, RLIMIT_NOFILE {r['nofile_soft']}/{r['nofile_hard']})")
        print(f"  connect all {r['connect_s']:.2f} s, round trip all {r['roundtrip_s']:.2f} s")
        print(f"  server at full load: +{(r['rss_growth'] or 0) / mib:.1f} MiB RSS, "
              f"+{(r['vms_growth'] or 0) / mib:.0f} MiB virtual, {r['threads_at_peak']} threads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
