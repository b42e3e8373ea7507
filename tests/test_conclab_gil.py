"""Unit tests for course/conclab/gil.py (GIL measurements).  Outcomes only, never speed-ups."""
import sys
import threading

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from conclab import gil, workloads  # noqa: E402


def test_split():
    assert gil.split(10, 3) == [4, 3, 3]
    assert gil.split(2, 4) == [1, 1, 0, 0]
    assert sum(gil.split(1_000_003, 7)) == 1_000_003
    with pytest.raises(ValueError):
        gil.split(5, 0)


def test_handoffs_runs_alternate_and_cover_the_time():
    recs = gil.handoffs(0.15, threads=2)
    assert recs, "at least one run"
    assert {r.worker for r in recs} <= {"thread 0", "thread 1"}
    assert all(a.worker != b.worker for a, b in zip(recs, recs[1:])), "runs alternate"
    assert all(a.end == b.start for a, b in zip(recs, recs[1:])), "runs are contiguous"
    assert recs[-1].end - recs[0].start >= 0.1
    assert threading.active_count() >= 1


def test_speedup_curve_threads_and_processes_shape():
    curve = gil.speedup_curve(20_000, 2, start_method="spawn")
    assert curve["workers"] == [1, 2]
    for kind in ("threads", "processes"):
        assert len(curve[kind]) == 2 and all(t > 0 for t in curve[kind])
        assert [len(curve["records"][(kind, k)]) for k in (1, 2)] == [1, 2]
    proc_workers = {r.worker for r in curve["records"][("processes", 2)]}
    assert all(w.startswith("SpawnProcess") for w in proc_workers)


def test_speedup_curve_rejects_unknown_kind():
    with pytest.raises(ValueError):
        gil.speedup_curve(10, 1, kinds=("fibers",))


def test_plot_speedup_draws_ideal_and_kinds():
    curve = {"workers": [1, 2, 3], "threads": [1.0, 1.0, 1.1], "processes": [1.0, 0.5, 0.4]}
    ax = gil.plot_speedup(curve, title="t")
    try:
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels == ["ideal", "threads", "processes"]
        assert list(ax.get_lines()[2].get_ydata()) == [1.0, 2.0, 2.5]
    finally:
        plt.close(ax.figure)


def test_cores_used_returns_result_and_ratio():
    result, ratio = gil.cores_used(workloads.spin, 200_000)
    assert result == workloads.spin(200_000)
    assert ratio >= 0


def test_gil_status_is_consistent():
    s = gil.gil_status()
    assert s["switch_interval"] == sys.getswitchinterval()
    assert s["has_sys._is_gil_enabled"] == hasattr(sys, "_is_gil_enabled")
    if not s["free_threaded_build"]:
        assert s["gil_enabled"] is True


def test_threaded_results_records_names():
    results, recs = gil.threaded(pow, [(2, 3), (3, 2), (5, 0)])
    assert results == [8, 9, 1]
    assert sorted(r.task for r in recs) == ["job 0", "job 1", "job 2"]
    assert {r.worker for r in recs} == {"thread 0", "thread 1", "thread 2"}
    _, recs = gil.threaded(workloads.noop, [()], names=["solo"])
    assert recs[0].worker == "solo"


def test_threaded_reraises_and_times_out():
    with pytest.raises(ZeroDivisionError):
        gil.threaded(lambda: 1 / 0, [()])
    with pytest.raises(TimeoutError):
        gil.threaded(workloads.sleep_io, [(0.5,)], timeout=0.05)


def test_threaded_sleeps_overlap():
    _, recs = gil.threaded(workloads.sleep_io, [(0.3,)] * 5)
    from conclab import timeline
    assert timeline.max_concurrency(recs) == 5


@pytest.mark.parametrize("kind", ["spin", "sleep", "recv"])
def test_foreground_slowdown_returns_ratio_and_cleans_up(kind):
    before = threading.active_count()
    ratio = gil.foreground_slowdown(kind, 20_000, threads=2)
    assert ratio > 0
    assert threading.active_count() <= before


def test_foreground_slowdown_rejects_unknown_kind():
    with pytest.raises(ValueError):
        gil.foreground_slowdown("dance", 10)


def test_four_jobs_keeps_one_record_per_job_and_processes_ran_elsewhere():
    out = gil.four_jobs(20_000, workers=2, jobs=4, repeat=2)
    assert out["alone"] > 0
    assert sorted(r.task for r in out["threads"]) == [f"job {i}" for i in range(4)]
    assert sorted(r.task for r in out["processes"]) == [f"job {i}" for i in range(4)]
    assert len({r.worker for r in out["processes"]}) <= 2
    assert all(w.startswith("SpawnProcess") for w in {r.worker for r in out["processes"]})


def test_hash_speedup_returns_a_ratio_and_the_threads_records():
    ratio, recs = gil.hash_speedup(4096, 3, workers=2, repeat=2)
    assert ratio > 0
    assert sorted(r.task for r in recs) == ["job 0", "job 1"]


@pytest.mark.parametrize("kind", ["plain", "call", "sleep"])
def test_lost_updates_counts_within_bounds(kind):
    lost = gil.lost_updates(kind, threads=3, times=2000 if kind != "sleep" else 300)
    assert 0 <= lost < 3 * (2000 if kind != "sleep" else 300)


def test_a_read_yield_write_window_always_loses_updates():
    assert gil.lost_updates("sleep", threads=4, times=500) > 0


def test_lost_updates_rejects_unknown_kind():
    with pytest.raises(ValueError):
        gil.lost_updates("atomic")


def test_speedup_curve_keeps_the_fastest_of_repeated_runs():
    curve = gil.speedup_curve(20_000, 2, kinds=("threads",), repeat=3)
    assert len(curve["threads"]) == 2
    from conclab.timeline import makespan
    assert curve["threads"][1] == makespan(curve["records"][("threads", 2)])
