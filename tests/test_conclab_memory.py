"""Tests for course/conclab/memory.py (Linux parts skip elsewhere)."""
import threading

import pytest

from conclab import memory as m

linux = pytest.mark.skipif(not m.HAVE_PROC, reason="needs /proc (Linux)")


@linux
def test_memory_map_has_heap_stack_and_libraries():
    regions = m.memory_map()
    kinds = {m.classify(r) for r in regions}
    assert {"stack", "library"} <= kinds
    assert all(r.end > r.start for r in regions)
    summary = m.summarize(regions)
    assert sum(count for count, _ in summary.values()) == len(regions)


def test_classify_names_each_kind():
    exe = "/usr/bin/python3.11"
    R = m.Region
    assert m.classify(R(0, 1, "rw-p", "[heap]"), exe) == "heap"
    assert m.classify(R(0, 1, "rw-p", "[stack]"), exe) == "stack"
    assert m.classify(R(0, 1, "r-xp", "[vdso]"), exe) == "kernel"
    assert m.classify(R(0, 1, "r-xp", exe), exe) == "text"
    assert m.classify(R(0, 1, "rw-p", exe), exe) == "data"
    assert m.classify(R(0, 1, "r-xp", "/lib/libc.so.6"), exe) == "library"
    assert m.classify(R(0, 1, "rw-p", ""), exe) == "anonymous mmap"
    assert m.classify(R(0, 1, "r--p", "/usr/share/locale/x.mo"), exe) == "file mmap"
    assert R(10, 20, "rw-p", "").contains(10) and not R(10, 20, "rw-p", "").contains(20)


@linux
def test_main_thread_stack_pointer_is_in_the_stack_region():
    sp = m.stack_pointer(threading.get_native_id())
    if sp is None:
        pytest.skip("/proc/self/task/<tid>/syscall not readable here")
    assert m.classify(m.region_of(sp)) == "stack"


@linux
def test_thread_stack_lives_in_an_anonymous_mapping_of_the_requested_size():
    before = threading.stack_size()
    size = 16 * 1024 * 1024   # larger than the default, so glibc cannot reuse a cached stack
    region = m.thread_stack_region(size)
    assert threading.stack_size() == before, "stack_size must be restored"
    if region is None:
        pytest.skip("/proc/self/task/<tid>/syscall not readable here")
    assert m.classify(region) == "anonymous mmap"
    assert size <= region.size < size + 1024 * 1024


def test_python_depth_counts_frames():
    def inner():
        return m.python_depth()
    assert inner() == m.python_depth() + 1


def test_recursion_outcomes():
    assert m.run_recursion("python", 100, timeout=60) == {"outcome": "ok", "returncode": 0, "detail": "depth 100"}
    over = m.run_recursion("python", 5000, timeout=60)  # default limit 1000
    assert over["outcome"] == "RecursionError"
    # Python-to-Python calls do not use the C stack (3.11+): a tiny thread stack is enough.
    assert m.run_recursion("python", 900, stack_kib=64, timeout=60)["outcome"] == "ok"


def test_deep_c_recursion_never_succeeds_on_a_tiny_stack():
    result = m.run_recursion("c", 900, stack_kib=64, timeout=60)
    assert result["outcome"] in {"crashed", "RecursionError"}, result


def test_traced_counts_the_list_but_not_the_generator():
    n = 50_000
    r1, kept1, peak_list = m.traced(m.squares_list, n)
    r2, kept2, peak_gen = m.traced(m.squares_gen, n)
    assert r1 == r2 == sum(i * i for i in range(n))
    assert peak_list > 8 * n          # at least a pointer per element
    assert peak_gen < peak_list / 10
    assert kept1 < 10_000 and kept2 < 10_000   # nothing big survives the call


def test_make_index_allocations_show_up_in_a_snapshot():
    import tracemalloc
    tracemalloc.start()
    try:
        index = m.make_index(5000)
        snap = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert len(index) == 5000 and index["key42"] == 42
    top = snap.filter_traces([tracemalloc.Filter(True, m.__file__)]).statistics("lineno")
    assert top and top[0].size > 5000 * 40


def _glibc() -> bool:
    import platform

    return m.HAVE_PROC and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not _glibc(), reason="the brk/mmap split is glibc's malloc on Linux")
def test_malloc_uses_brk_below_the_threshold_and_mmap_above():
    where = m.malloc_regions()
    assert where["small"] == "anonymous mmap", "pymalloc arenas are mmapped"
    assert where["medium"] == "heap", "1 KiB from malloc comes from the brk heap"
    assert where["big"] == "anonymous mmap", "16 MiB is above the initial 128 KiB threshold"
    assert where["big again"] == "heap", "freeing it raised the threshold (mallopt(3))"


@pytest.mark.skipif(not _glibc(), reason="the brk/mmap split is glibc's malloc on Linux")
def test_a_fixed_threshold_stops_the_adjustment():
    assert m.malloc_regions(fixed_threshold=128 * 1024)["big again"] == "anonymous mmap"
