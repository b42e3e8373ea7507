"""Unit tests for course/conclab/timeline.py (records and Gantt charts)."""
import concurrent.futures as cf
import multiprocessing
import threading
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from conclab import timeline, workloads  # noqa: E402
from conclab.timeline import Record, Timeline  # noqa: E402


def test_record_duration_and_fields():
    r = Record("w", "t", 1.0, 3.5)
    assert r.duration == 2.5
    assert r._replace(end=4.0).duration == 3.0


def test_span_records_worker_task_and_order():
    tl = Timeline()
    with tl.span("first"):
        time.sleep(0.01)
    with tl.span("second", worker="custom"):
        pass
    first, second = tl.records
    assert (first.worker, first.task) == (threading.current_thread().name, "first")
    assert (second.worker, second.task) == ("custom", "second")
    assert first.start <= first.end <= second.start <= second.end
    assert first.duration >= 0.005


def test_span_keeps_record_when_block_raises():
    tl = Timeline()
    with pytest.raises(ZeroDivisionError):
        with tl.span("boom"):
            1 / 0
    assert [r.task for r in tl.records] == ["boom"]


def test_track_decorator_returns_result_and_names_task():
    tl = Timeline()

    @tl.track()
    def double(x):
        return 2 * x

    @tl.track("labelled", worker="w1")
    def triple(x):
        return 3 * x

    assert double(4) == 8 and triple(2) == 6
    assert [(r.worker, r.task) for r in tl.records] == [
        (threading.current_thread().name, "double"), ("w1", "labelled")]
    assert double.__name__ == "double"


def test_timeline_is_thread_safe():
    tl = Timeline()

    def work(i):
        for j in range(200):
            with tl.span(f"{i}.{j}"):
                pass

    threads = [threading.Thread(target=work, args=(i,), name=f"T{i}", daemon=True) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
        assert not t.is_alive()
    recs = tl.records
    assert len(recs) == len(tl) == 1600
    assert {r.worker for r in recs} == {f"T{i}" for i in range(8)}
    assert [r.start for r in recs] == sorted(r.start for r in recs)


def test_add_accepts_records_iterables_and_tuples_and_clear():
    tl = Timeline()
    tl.add(Record("a", "x", 0.0, 1.0))
    tl.add([Record("b", "y", 0.5, 2.0), ("c", "z", 0.2, 0.3)])
    assert [r.worker for r in tl] == ["a", "c", "b"]
    assert all(isinstance(r, Record) for r in tl)
    tl.clear()
    assert len(tl) == 0


def test_timed_returns_result_and_record():
    result, rec = timeline.timed(sum, [1, 2, 3], task="adding")
    assert result == 6
    assert rec.task == "adding" and rec.worker == threading.current_thread().name
    _, rec2 = timeline.timed(workloads.noop)
    assert rec2.task == "noop"


def test_timed_in_spawned_child_merges_into_parent_clock():
    ctx = multiprocessing.get_context("spawn")
    before = time.perf_counter()
    with cf.ProcessPoolExecutor(1, mp_context=ctx) as ex:
        result, rec = ex.submit(timeline.timed, workloads.spin, 1000, task="child").result(timeout=60)
    after = time.perf_counter()
    assert result == workloads.spin(1000)
    assert rec.task == "child"
    assert rec.worker.startswith("SpawnProcess")
    # perf_counter is system-wide here: the child's readings fall inside the parent's window
    assert before <= rec.start <= rec.end <= after
    tl = Timeline()
    tl.add(rec)
    assert tl.records == [rec]


def test_worker_label_in_main_process_is_thread_name():
    box = []
    t = threading.Thread(target=lambda: box.append(timeline.worker_label()), name="labelled")
    t.start()
    t.join(5)
    assert box == ["labelled"]


def test_records_from_samples_merges_runs_and_sets_end():
    samples = [("A", 0.0), ("A", 1.0), ("B", 2.0), ("A", 3.0), ("B", 5.0)]
    recs = timeline.records_from_samples(samples, end=6.0)
    assert [(r.worker, r.start, r.end) for r in recs] == [
        ("A", 0.0, 2.0), ("B", 2.0, 3.0), ("A", 3.0, 5.0), ("B", 5.0, 6.0)]
    assert [r.task for r in recs] == ["run 1", "run 2", "run 3", "run 4"]
    # unsorted input, no end: last run ends at its own sample
    recs = timeline.records_from_samples([("B", 2.0), ("A", 1.0)], task="slice")
    assert [(r.worker, r.task, r.duration) for r in recs] == [("A", "slice 1", 1.0), ("B", "slice 2", 0.0)]
    assert timeline.records_from_samples([]) == []


def test_relative_makespan_busy_time():
    recs = [Record("a", "1", 10.0, 11.0), Record("b", "2", 10.5, 12.0), Record("a", "3", 12.0, 12.5)]
    rel = timeline.relative(recs)
    assert [(r.start, r.end) for r in rel] == [(0.0, 1.0), (0.5, 2.0), (2.0, 2.5)]
    assert timeline.relative(recs, t0=9.0)[0].start == 1.0
    assert timeline.relative([]) == []
    assert timeline.makespan(recs) == 2.5
    assert timeline.makespan([]) == 0.0
    assert timeline.busy_time(recs) == {"a": 1.5, "b": 1.5}


def test_max_concurrency():
    assert timeline.max_concurrency([]) == 0
    seq = [Record("a", "1", 0, 1), Record("a", "2", 1, 2)]  # touching, not overlapping
    assert timeline.max_concurrency(seq) == 1
    par = [Record(str(i), "t", 0.1 * i, 5) for i in range(4)]
    assert timeline.max_concurrency(par) == 4


def test_plot_timeline_rows_bars_and_axes():
    recs = [Record("worker B", "job 1", 0.0, 0.2), Record("worker A", "job 2", 0.1, 0.3),
            Record("worker B", "job 3", 0.25, 0.4)]
    ax = timeline.plot_timeline(recs, title="demo")
    try:
        assert [t.get_text() for t in ax.get_yticklabels()] == ["worker B", "worker A"]
        assert len(ax.collections) == len(recs)  # one bar per record
        assert ax.get_title() == "demo"
        assert "ms" in ax.get_xlabel()
    finally:
        plt.close(ax.figure)


def test_plot_timeline_uses_given_ax_seconds_legend_and_empty():
    fig, (ax1, ax2) = plt.subplots(2)
    try:
        recs = [Record("p1", "a", 5.0, 6.5), Record("p2", "b", 5.0, 7.0)]
        out = timeline.plot_timeline(recs, ax=ax1, color_by="worker", legend=True)
        assert out is ax1
        assert "(s)" in ax1.get_xlabel()
        assert ax1.get_legend() is not None
        assert timeline.plot_timeline([], ax=ax2) is ax2
        with pytest.raises(ValueError):
            timeline.plot_timeline(recs, ax=ax2, color_by="colour")
    finally:
        plt.close(fig)
