"""Tests for course/conclab/mp_demos.py: every wait is bounded; POSIX-only parts skip elsewhere."""
import multiprocessing
import os
import queue
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pytest

from conclab import mp_demos as d

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX process model")
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
METHOD = "spawn"   # works everywhere and proves the workers are importable


def test_documented_defaults():
    f = d.documented_default_start_method
    assert f("linux", (3, 11)) == "fork"
    assert f("linux", (3, 13)) == "fork"
    assert f("linux", (3, 14)) == "forkserver"
    assert f("darwin", (3, 7)) == "fork"
    assert f("darwin", (3, 12)) == "spawn"
    assert f("win32", (3, 14)) == "spawn"
    assert f("freebsd14", (3, 14)) == "forkserver"


def test_actual_default_matches_documentation():
    assert multiprocessing.get_context().get_start_method() == d.documented_default_start_method()


def test_workers_run_in_a_spawned_pool():
    ctx = multiprocessing.get_context(METHOD)
    with ctx.Pool(2) as pool:
        results = [pool.apply_async(d.seed_worker, (i, 0.02)) for i in range(4)]
        out = [r.get(timeout=60) for r in results]
        squares = pool.map_async(d.square, range(5)).get(timeout=60)
    assert [o["msg"] for o in out] == [0, 1, 2, 3]
    assert all(o["pid"] != os.getpid() for o in out)
    assert all(0 <= o["elapsed"] < 5 for o in out)
    assert squares == [0, 1, 4, 9, 16]


def test_seed_worker_sleep_is_seeded():
    import random
    assert random.Random(7).random() == random.Random(7).random()
    assert d.seed_worker(1, 0.0)["msg"] == 1


def test_cpu_work_is_deterministic():
    assert d.cpu_work(1000)[0] == d.cpu_work(1000)[0]
    assert d.cpu_work(1000)[1] >= 0


def test_process_pool_executor_reports_errors_and_broken_pools():
    ctx = multiprocessing.get_context(METHOD)
    with ProcessPoolExecutor(1, mp_context=ctx) as ex:
        assert ex.submit(d.square, 7).result(timeout=60) == 49
        with pytest.raises(ValueError, match="bad input"):
            ex.submit(d.fails, 1).result(timeout=60)
    with ProcessPoolExecutor(1, mp_context=ctx) as ex:
        with pytest.raises(BrokenProcessPool):
            ex.submit(d.dies, 3).result(timeout=60)


def test_join_before_drain_blocks_and_draining_fixes_it():
    ctx = multiprocessing.get_context(METHOD)
    q = ctx.Queue()
    p = ctx.Process(target=d.put_big, args=(q, 1_000_000))
    p.start()
    p.join(timeout=1.0)
    assert p.exitcode is None, "the child cannot exit while its item is still in the pipe"
    assert len(q.get(timeout=60)) == 1_000_000
    p.join(timeout=60)
    assert p.exitcode == 0


def test_queue_timeouts_raise():
    ctx = multiprocessing.get_context(METHOD)
    q = ctx.Queue(maxsize=1)
    q.put(1, timeout=5)
    with pytest.raises(queue.Full):
        q.put(2, timeout=0.05)
    assert q.get(timeout=5) == 1
    with pytest.raises(queue.Empty):
        q.get(timeout=0.05)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_main_defined_worker_fails_without_hanging(method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} not available")
    r = d.run_main_defined_worker(method, pool_timeout=1.0, timeout=120)
    assert r["returncode"] == 0
    assert r["stdout"][0] == "Process exitcode: 1"
    assert "TimeoutError" in r["stdout"][1]
    assert r["cant_get_attribute"] >= 1 and "square" in r["error"]


@posix
def test_main_defined_worker_works_under_fork():
    r = d.run_main_defined_worker("fork", timeout=120)
    assert r["stdout"] == ["Process exitcode: 0", "Pool result: 9"]


@posix
def test_zombie_is_seen_survives_sigkill_and_is_reaped():
    pid = d.spawn_child()
    try:
        assert d.wait_for_state(pid, "Z", timeout=30)
        assert d.zombies(d.ps_rows([pid]))[0]["ppid"] == os.getpid()
        os.kill(pid, signal.SIGKILL)
        assert d.proc_state(pid) == "Z"
    finally:
        reaped, status = os.waitpid(pid, 0)
    assert reaped == pid and os.waitstatus_to_exitcode(status) == 0
    assert d.proc_state(pid) is None


@posix
def test_wait_for_state_with_settle_needs_the_state_to_last():
    """01.03 shows a sleeping decoy's STAT: under load its start-up still runs (R) or blocks
    briefly (S) when ps looks, so the cell waits until it has slept for a while."""
    spinner = d.spawn_child("-c", "while True: pass")
    sleeper = d.spawn_child("-c", "import time; time.sleep(30)")
    try:
        assert not d.wait_for_state(spinner, "S", timeout=1, settle=0.2), "a spinning process does not sleep on"
        began = time.monotonic()
        assert d.wait_for_state(sleeper, "S", timeout=30, settle=0.2)
        assert time.monotonic() - began >= 0.2
        assert d.proc_state(sleeper) == "S"
    finally:
        for pid in (spinner, sleeper):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


@posix
def test_grep_w_misses_session_leader_zombies_and_matches_other_words():
    decoy = d.spawn_child("-c", "import time; time.sleep(30)", "Z")
    leader = d.spawn_child(setsid=True)
    try:
        assert d.wait_for_state(leader, "Z", timeout=30)
        text = d.ps_aux()
        hits = {d.pid_of_ps_aux_line(line) for line in d.grep_w(text, "Z")}
        assert decoy in hits, "grep -w Z matches an argument Z"
        assert leader not in hits, "a zombie session leader shows STAT Zs"
        found = {r["pid"] for r in d.zombies(d.ps_rows([decoy, leader]))}
        assert found == {leader}
    finally:
        os.kill(decoy, signal.SIGKILL)
        os.waitpid(decoy, 0)
        os.waitpid(leader, 0)


def test_grep_w_word_boundaries():
    text = "a Z b\nZs\nZ+\nxZ\n"
    assert d.grep_w(text, "Z") == ["a Z b", "Z+"]


@posix
@pytest.mark.parametrize("mode,reaped,left", [("handler", 3, 0), ("ignore", 0, 0), ("none", 0, 3)])
def test_reaper_modes(mode, reaped, left):
    r = d.run_demo("reaper", timeout=60, mode=mode)
    assert (r["started"], r["reaped_by_handler"], r["zombies_left"]) == (3, reaped, left)


@linux
def test_orphan_goes_to_the_subreaper_not_the_grandparent():
    r = d.run_demo("orphan", timeout=60, subreaper=True)
    assert r["subreaper"] is True
    assert r["parent_before"] != r["parent_after"]
    assert r["adopted_by_this_process"] and not r["adopted_by_grandparent"]


@pytest.mark.parametrize("kind", ["serial", "threads", "processes"])
def test_run_cpu_bound_gives_the_same_checksums(kind):
    r = d.run_cpu_bound(kind, workers=2, tasks=3, n=20_000, timeout=120)
    assert r["checksums"] == [d.cpu_work(20_000)[0]] * 3
    assert r["wall"] > 0 and r["cpu"] >= 0 and r["busy"] >= 0
    assert (r["startup"] > 0) == (kind == "processes")
    assert r["workers"] == (1 if kind == "serial" else 2)


def test_run_cpu_bound_rejects_unknown_kinds():
    with pytest.raises(ValueError):
        d.run_cpu_bound("fibres")


def test_chunk_costs_times_the_loop_and_each_chunk_size():
    costs = d.chunk_costs(n_items=200, chunks=(1, 50), workers=2, repeat=1)
    assert set(costs) == {"loop", 1, 50}
    assert all(v > 0 for v in costs.values())


def test_run_cpu_bound_starts_every_worker_before_timing(monkeypatch):
    from conclab import timing

    started = []
    real = timing.started_pool
    monkeypatch.setattr(timing, "started_pool", lambda *a, **k: started.append(a) or real(*a, **k))
    d.run_cpu_bound("processes", workers=2, tasks=2, n=1000, timeout=120)
    assert started and started[0][0] == 2
