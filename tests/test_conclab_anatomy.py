"""Unit tests for course/conclab/anatomy.py (processes, threads, coroutines: structure and cost)."""
import asyncio
import concurrent.futures as cf
import multiprocessing
import os
import sys
import threading

import pytest

from conclab import anatomy


def test_census_tasks_live_in_their_thread_in_this_process():
    rows = anatomy.census(threads=3, tasks=4)
    assert len(rows) == 12
    assert {r["pid"] for r in rows} == {os.getpid()}
    assert [r["task"] for r in rows[:4]] == ["task-0.0", "task-0.1", "task-0.2", "task-0.3"]
    by_thread = {}
    for r in rows:
        by_thread.setdefault(r["thread"], set()).add(r["native_id"])
    assert list(by_thread) == ["thread-0", "thread-1", "thread-2"]
    assert all(len(ids) == 1 for ids in by_thread.values()), "a thread's tasks share one native id"
    natives = [next(iter(ids)) for ids in by_thread.values()]
    assert len(set(natives)) == 3 and threading.get_native_id() not in natives


def test_census_in_a_spawned_child_has_another_pid():
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(1, mp_context=ctx) as ex:
        rows = ex.submit(anatomy.census, 1, 2).result(timeout=60)
    assert len(rows) == 2 and {r["pid"] for r in rows} != {os.getpid()}


def test_format_tree_shape():
    rows = [{"pid": 7, "thread": "a", "native_id": 70, "task": "t1"},
            {"pid": 7, "thread": "a", "native_id": 70, "task": "t2"},
            {"pid": 7, "thread": "b", "native_id": 71, "task": "t3"}]
    assert anatomy.format_tree(rows).splitlines() == [
        "process pid=7",
        "├── thread a native_id=70",
        "│   ├── task t1",
        "│   └── task t2",
        "└── thread b native_id=71",
        "    └── task t3",
    ]


def test_pingpong_threads_makes_n_handoffs(monkeypatch):
    puts = []
    real_put = anatomy.queue.Queue.put
    monkeypatch.setattr(anatomy.queue.Queue, "put", lambda self, item, *a, **k: puts.append(item) or real_put(self, item, *a, **k))
    anatomy.pingpong_threads(10)
    assert len(puts) == 10, "one put per hand-off, both directions counted"


def test_pingpongs_return_elapsed_seconds():
    assert anatomy.pingpong_threads(200) > 0
    assert anatomy.pingpong_generators(200) > 0
    assert anatomy.pingpong_greenlets(200) > 0
    assert asyncio.run(anatomy.pingpong_tasks(200)) > 0


def test_pingpong_threads_leaves_no_thread_behind():
    before = threading.active_count()
    anatomy.pingpong_threads(50)
    assert threading.active_count() <= before


def test_ctx_switches_types_and_thread_pingpong_switches():
    v, i = anatomy.ctx_switches("thread")
    assert isinstance(v, int) and isinstance(i, int)
    with pytest.raises(ValueError):
        anatomy.ctx_switches("galaxy")
    if not hasattr(os, "fork"):  # resource module is Unix only
        pytest.skip("getrusage needs Unix")
    v0, _ = anatomy.ctx_switches("process")
    anatomy.pingpong_threads(500)
    v1, _ = anatomy.ctx_switches("process")
    assert v1 > v0, "blocking hand-offs between threads are voluntary context switches"


@pytest.mark.parametrize("kind,n", [("thread", 20), ("greenlet", 200), ("generator", 2000),
                                    ("asyncio task", 2000)])
def test_memory_per_unit_reports(kind, n):
    before = threading.active_count()
    m = anatomy.memory_per_unit(kind, n)
    assert set(m) == {"kind", "n", "rss_per_unit", "vms_per_unit"}
    assert m["kind"] == kind and m["n"] == n
    assert threading.active_count() <= before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="stack reservation is Linux-specific")
def test_threads_reserve_address_space_on_linux():
    m = anatomy.memory_per_unit("thread", 20)
    assert m["vms_per_unit"] > 64 * 1024, "each thread reserves a stack of its own"


def test_memory_per_unit_rejects_unknown_kind():
    with pytest.raises(ValueError):
        anatomy.memory_per_unit("fiber", 1)


def test_bump_global_is_shared_by_threads_not_by_processes():
    start = anatomy.COUNTER
    t = threading.Thread(target=anatomy.bump, kwargs={"times": 3}, daemon=True)
    t.start()
    t.join(10)
    assert anatomy.COUNTER == start + 3
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=anatomy.bump, kwargs={"times": 5})
    p.start()
    p.join(60)
    assert p.exitcode == 0 and anatomy.COUNTER == start + 3
    shared = ctx.Value("i", 0)
    p = ctx.Process(target=anatomy.bump, args=(shared, 5))
    p.start()
    p.join(60)
    assert p.exitcode == 0 and shared.value == 5
    assert anatomy.bump(shared, 2) == 7


def test_handoff_costs_cover_every_kind_and_only_threads_make_the_os_switch():
    costs = anatomy.handoff_costs(400, repeat=2)
    assert list(costs) == ["threads", "generators", "greenlets", "asyncio tasks"]
    assert all(c["seconds"] > 0 for c in costs.values())
    if hasattr(os, "fork"):  # getrusage counts every thread
        assert costs["threads"]["voluntary"] >= 0.5, "a blocking hand-off between threads is a context switch"
        for kind in ("generators", "greenlets"):
            assert costs[kind]["voluntary"] < 0.1, f"{kind} switch in user space"


def test_creation_costs_names_every_kind():
    costs = anatomy.creation_costs(n=20, n_proc=2, methods=("spawn",), repeat=1)
    assert list(costs) == ["process (spawn)", "thread", "greenlet", "generator", "asyncio task"]
    assert all(v > 0 for v in costs.values())
