"""Unit tests for course/conclab/workloads.py (work functions for experiments)."""
import asyncio
import concurrent.futures as cf
import hashlib
import multiprocessing
import os
import threading
import time

import pytest

from conclab import timeline, workloads


def test_noop_accepts_anything():
    assert workloads.noop() is None
    assert workloads.noop(1, 2, key=3) is None


def test_spin_is_deterministic_and_depends_on_n():
    def reference(n):
        total = 0
        for i in range(n):
            total = (total + i * i) % 1_000_003
        return total

    for n in (0, 1, 10, 12345):
        assert workloads.spin(n) == reference(n)
    assert workloads.spin(1000) != workloads.spin(1001)


def test_calibrate_spin_returns_positive_size():
    n = workloads.calibrate_spin(0.01, start=1000, repeat=1)
    assert isinstance(n, int) and n >= 1
    with pytest.raises(ValueError):
        workloads.calibrate_spin(0)


def test_sleep_io_sleeps_at_least_requested():
    assert workloads.sleep_io(0.02) >= 0.019


def test_sha256_rounds_matches_hashlib():
    data = bytes(5000)
    expected = hashlib.sha256(data).digest()
    expected = hashlib.sha256(expected + data).hexdigest()
    assert workloads.sha256_rounds(5000, 2) == expected
    assert workloads.sha256_rounds(10, 1) == hashlib.sha256(bytes(10)).hexdigest()


def test_sha256_releases_the_gil_on_a_large_buffer():
    """While one thread hashes a big buffer in a single C call, another runs Python code."""
    data = bytes(64 * 1024 * 1024)
    window = {}

    def hasher():
        window["start"] = time.perf_counter()
        hashlib.sha256(data)  # one C call
        window["end"] = time.perf_counter()

    t = threading.Thread(target=hasher, daemon=True)
    ticks = []
    t.start()
    deadline = time.perf_counter() + 60
    while t.is_alive() and time.perf_counter() < deadline:
        ticks.append(time.perf_counter())
    t.join(60)
    assert not t.is_alive()
    start, end = window["start"], window["end"]
    margin = (end - start) * 0.1
    inside = [x for x in ticks if start + margin < x < end - margin]
    assert inside, "the main thread never ran while sha256 hashed: the GIL was held"


def test_identify_reports_this_thread():
    info = workloads.identify("me")
    assert info == {"label": "me", "pid": os.getpid(), "thread": threading.current_thread().name,
                    "native_id": threading.get_native_id()}


def test_async_sleepers_overlap_in_one_thread():
    recs = workloads.async_sleepers(5, 0.2)
    assert len(recs) == 5
    assert {r.worker for r in recs} == {threading.current_thread().name}
    assert timeline.max_concurrency(recs) == 5
    assert timeline.makespan(recs) < 0.2 * 5


def test_async_sleepers_refuses_a_running_loop():
    async def inside():
        workloads.async_sleepers(1, 0.0)

    with pytest.raises(RuntimeError):
        asyncio.run(inside())


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_workloads_run_in_child_processes(method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} not available on this platform")
    ctx = multiprocessing.get_context(method)
    with cf.ProcessPoolExecutor(2, mp_context=ctx) as ex:
        spun = ex.submit(timeline.timed, workloads.spin, 5000, task="spin")
        ident = ex.submit(workloads.identify, "child")
        sleepers = ex.submit(workloads.async_sleepers, 3, 0.05)
        value, rec = spun.result(timeout=60)
        info = ident.result(timeout=60)
        recs = sleepers.result(timeout=60)
    assert value == workloads.spin(5000) and rec.task == "spin"
    assert info["pid"] != os.getpid() and info["label"] == "child"
    assert len(recs) == 3 and all(r.worker == recs[0].worker for r in recs)
    assert recs[0].worker != threading.current_thread().name
