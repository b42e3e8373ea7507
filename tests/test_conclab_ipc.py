"""Tests for course/conclab/ipc.py (pipes, FIFOs, sockets, System V IPC, the benchmark)."""
import multiprocessing as mp
import os
import select
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conclab import ipc

LINUX = sys.platform.startswith("linux")
POSIX = os.name == "posix"
SPAWN = mp.get_context("spawn")


@pytest.mark.skipif(not LINUX, reason="Linux pipe sizes")
def test_pipe_capacity_matches_kernel_and_is_not_a_page():
    r, w = os.pipe()
    try:
        reported = ipc.pipe_size(w)
    finally:
        os.close(r)
        os.close(w)
    measured = ipc.pipe_capacity()
    assert measured == reported, "the non-blocking fill should stop exactly at F_GETPIPE_SZ"
    assert measured > select.PIPE_BUF, "a pipe holds more than one page / PIPE_BUF"


@pytest.mark.skipif(not POSIX, reason="os.set_blocking on pipes")
def test_fill_nonblocking_leaves_pipe_full():
    r, w = os.pipe()
    try:
        n = ipc.fill_nonblocking(w)
        with pytest.raises(BlockingIOError):
            os.write(w, b"x")
        assert n > 0
        drained = 0
        while drained < n:
            drained += len(os.read(r, n))
        assert drained == n
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.skipif(not POSIX, reason="PIPE_BUF is POSIX")
def test_small_records_are_never_interleaved():
    assert ipc.interleaved_records(select.PIPE_BUF, writers=3, records=50, timeout=60) == 0
    assert ipc.interleaved_records(100, writers=3, records=200, timeout=60) == 0


def test_run_lengths():
    assert ipc._run_lengths(b"aaabba") == [3, 2, 1]
    assert ipc._run_lengths(b"") == []


@pytest.mark.skipif(not POSIX, reason="mkfifo")
def test_fifo_between_unrelated_processes():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "f")
        os.mkfifo(path)
        reader = subprocess.Popen([sys.executable, "-c", "import sys; print(open(sys.argv[1]).read().upper())", path],
                                  stdout=subprocess.PIPE, text=True)
        try:
            fd = ipc.open_fifo_writer(path, timeout=20)
            os.write(fd, b"through a fifo")
            os.close(fd)
            out, _ = reader.communicate(timeout=20)
        finally:
            reader.kill()
            reader.wait(10)
        assert out.strip() == "THROUGH A FIFO"


@pytest.mark.skipif(not POSIX, reason="mkfifo")
def test_open_fifo_writer_times_out_without_reader():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "f")
        os.mkfifo(path)
        with pytest.raises(TimeoutError):
            ipc.open_fifo_writer(path, timeout=0.2)


def test_run_python_can_import_conclab():
    done = ipc.run_python("import conclab.ipc, sys; print(sys.argv[1])", "ok", timeout=30, cwd=tempfile.gettempdir())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX")
def test_unix_socket_echo_from_another_process():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s")
        addr, thread = ipc.echo_once(socket.AF_UNIX, path, timeout=20)
        done = ipc.run_python("from conclab.ipc import socket_client; import sys; print(socket_client('unix', sys.argv[1], 'hi'))",
                              path, timeout=30)
        thread.join(20)
        assert done.stdout.strip() == "HI", done.stderr
        assert not thread.is_alive()


def test_tcp_loopback_echo():
    (host, port), thread = ipc.echo_once(socket.AF_INET, ("127.0.0.1", 0), timeout=20)
    assert ipc.socket_client("tcp", f"{host}:{port}", "over tcp", timeout=20) == "OVER TCP"
    thread.join(20)
    assert not thread.is_alive()


def test_echo_server_gives_up_without_client():
    _, thread = ipc.echo_once(socket.AF_INET, ("127.0.0.1", 0), timeout=0.2)
    thread.join(10)
    assert not thread.is_alive()


@pytest.mark.skipif(not POSIX, reason="select on pipes")
def test_read_line_timeout():
    p = subprocess.Popen([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(30)"],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert ipc.read_line(p.stdout, timeout=20).strip() == "ready"
        with pytest.raises(TimeoutError):
            ipc.read_line(p.stdout, timeout=0.2)
    finally:
        p.kill()
        p.wait(10)


def test_upper_echo_child_over_duplex_pipe():
    a, b = SPAWN.Pipe()
    p = SPAWN.Process(target=ipc.upper_echo, args=(b,), daemon=True)
    p.start()
    b.close()
    try:
        a.send("ping")
        assert a.poll(30) and a.recv() == "PING"
        a.send(None)
        p.join(30)
        assert p.exitcode == 0
    finally:
        if p.is_alive():
            p.kill()
        a.close()


def test_queue_child_moves_items():
    inbox, outbox = SPAWN.Queue(), SPAWN.Queue()
    p = SPAWN.Process(target=ipc.queue_child, args=(inbox, outbox), daemon=True)
    p.start()
    try:
        for item in ("a", 1, None):
            inbox.put(item)
        assert [outbox.get(timeout=30), outbox.get(timeout=30)] == ["A", 1]
        p.join(30)
        assert p.exitcode == 0
    finally:
        if p.is_alive():
            p.kill()


def test_shared_memory_child():
    from multiprocessing import shared_memory

    shm = shared_memory.SharedMemory(create=True, size=64)
    try:
        shm.buf[:5] = b"hello"
        lock = SPAWN.Lock()
        p = SPAWN.Process(target=ipc.shm_child, args=(shm.name, lock), daemon=True)
        p.start()
        p.join(30)
        assert p.exitcode == 0
        assert bytes(shm.buf[:5]) == b"HELLO"
    finally:
        shm.close()
        shm.unlink()


def test_mmap_child():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m")
        Path(path).write_bytes(b"mapped")
        p = SPAWN.Process(target=ipc.mmap_child, args=(path,), daemon=True)
        p.start()
        p.join(30)
        assert p.exitcode == 0
        assert Path(path).read_bytes() == b"MAPPED"


try:
    import sysv_ipc
except ImportError:  # the package builds on Linux and macOS only
    sysv_ipc = None
needs_sysv = pytest.mark.skipif(not LINUX or sysv_ipc is None, reason="System V IPC demo is Linux-only")


@needs_sysv
def test_sysv_child_and_message_queue_timeout():
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, initial_value=1)
    shm = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=4096)
    mq = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    try:
        with pytest.raises(TimeoutError):
            ipc.mq_receive(mq, timeout=0.1)
        shm.write(b"system v\0")
        p = SPAWN.Process(target=ipc.sysv_child, args=(sem.key, shm.key, mq.key), daemon=True)
        p.start()
        msg, mtype = ipc.mq_receive(mq, type=2, timeout=30)
        p.join(30)
        assert p.exitcode == 0
        assert shm.read(8) == b"SYSTEM V"
        assert (msg, mtype) == (b"upper-cased 8 bytes", 2)
        assert sem.value == 1
    finally:
        for obj in (sem, mq):
            obj.remove()
        shm.detach()
        shm.remove()


@needs_sysv
def test_message_queue_is_bounded():
    mq = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
    try:
        queued = ipc.fill_message_queue(mq, 1024)
        assert 0 < queued <= mq.max_size
        assert mq.current_messages == queued // 1024
    finally:
        mq.remove()


@pytest.mark.parametrize("method", ipc.METHODS)
def test_throughput_moves_every_byte(method):
    # small sizes: this checks correctness and cleanup, not speed
    rate = ipc.throughput(method, total=256 * ipc.KiB, chunk=64 * ipc.KiB, ctx=SPAWN, timeout=60)
    assert rate > 0


def test_throughput_rejects_bad_arguments():
    with pytest.raises(ValueError):
        ipc.throughput("carrier pigeon")
    with pytest.raises(ValueError):
        ipc.throughput("pipe", total=100, chunk=64)


def test_table_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    results = {("pipe", 4096): 100.0, ("queue", 4096): 50.0, ("pipe", ipc.MiB): 200.0, ("queue", ipc.MiB): 400.0}
    text = ipc.format_table(results)
    assert "x0.50" in text and "x2.00" in text and "chunk 1 MiB" in text and "chunk 4 KiB" in text
    ax = ipc.plot_throughput(results)
    assert len(ax.patches) == 4


@pytest.mark.skipif(not POSIX, reason="SIGSTOP")
def test_wait_status_sees_a_stopped_process():
    import signal

    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        os.kill(p.pid, signal.SIGSTOP)
        assert ipc.wait_status(p.pid, "stopped", timeout=20)
        os.kill(p.pid, signal.SIGCONT)
        assert ipc.wait_status(p.pid, "sleeping", timeout=20)
    finally:
        p.kill()
        p.wait(10)
    assert not ipc.wait_status(p.pid, "running", timeout=0.1)


def test_rpc_proxy_calls_a_loopback_server():
    import threading
    from xmlrpc.server import SimpleXMLRPCServer

    server = SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False, allow_none=True)
    server.register_function(pow)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        host, port = server.server_address
        assert ipc.rpc_proxy(f"http://{host}:{port}/", timeout=20).pow(2, 10) == 1024
    finally:
        server.shutdown()
        server.server_close()
        t.join(20)
    assert not t.is_alive()


def test_benchmark_runs_every_pair_repeat_times_and_keeps_the_best(monkeypatch):
    calls = []
    rates = iter(range(1, 100))
    monkeypatch.setattr(ipc, "throughput", lambda m, total, c, ctx=None: calls.append((m, c)) or float(next(rates)))
    results = ipc.benchmark(chunks=(4096, 8192), methods=("pipe", "queue"), total=8192, repeat=3)
    assert sorted(set(calls)) == sorted({(m, c) for m in ("pipe", "queue") for c in (4096, 8192)})
    assert len(calls) == 12
    for pair, rate in results.items():
        assert rate == max(i + 1 for i, call in enumerate(calls) if call == pair)


def test_touch_writes_one_byte_per_page():
    import mmap

    buf = bytearray(b"x" * (3 * mmap.PAGESIZE))
    ipc._touch(buf)
    assert buf.count(0) == 3 and buf[0] == buf[mmap.PAGESIZE] == 0
