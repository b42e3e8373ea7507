"""Record which worker ran which piece of work when, and draw it as a Gantt chart.

A *record* is ``Record(worker, task, start, end)``: the worker's label (a thread
or process name, or any label you choose), the task's label, and two
``time.perf_counter()`` readings.  Three ways to make records:

* in threads of this process, share one :class:`Timeline`::

      tl = Timeline()
      with tl.span("download 1"):          # worker defaults to the thread's name
          ...
      @tl.track()                          # or decorate a function
      def work(): ...

* in child processes, never share a Timeline (each process has its own copy).
  The work function returns its records and the parent merges them::

      result, rec = timed(spin, 1_000_000, task="job 1")   # runs in the child
      tl.add(rec)                                          # in the parent

  :func:`timed` is a module-level function, so it can be submitted to a
  process pool under every start method (``spawn``, ``forkserver``, ``fork``)
  together with a module-level work function.  Children print nothing.

* from a stream of ``(worker, time)`` samples taken whenever the running
  worker changes: :func:`records_from_samples`.

Draw with :func:`plot_timeline` (one row per worker, one bar per record).

About the clock: ``time.perf_counter`` is a system-wide monotonic clock on
Linux (``CLOCK_MONOTONIC``), macOS and Windows (``QueryPerformanceCounter``),
so readings taken in different processes of one machine can be compared.
The Python docs only promise that differences within one process are
meaningful; the course relies on the platform behaviour above, and the unit
tests check it on the machine they run on.
"""
from __future__ import annotations

import contextlib
import functools
import multiprocessing
import threading
import time
from typing import Callable, Iterable, Iterator, NamedTuple

__all__ = [
    "Record",
    "Timeline",
    "worker_label",
    "timed",
    "records_from_samples",
    "relative",
    "makespan",
    "max_concurrency",
    "busy_time",
    "plot_timeline",
]

clock = time.perf_counter


class Record(NamedTuple):
    """One piece of work: who ran it (``worker``), what it was (``task``), when."""

    worker: str
    task: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        """``end - start`` in seconds."""
        return self.end - self.start


def worker_label() -> str:
    """A readable label for the code that is running now.

    In the main process: the thread's name (``MainThread``, ``Thread-3 (work)``).
    In a child process: the process's name (``SpawnProcess-2``), followed by
    ``/<thread name>`` when called from a thread other than the child's main
    thread.
    """
    thread = threading.current_thread()
    if multiprocessing.parent_process() is None:
        return thread.name
    process = multiprocessing.current_process().name
    if thread is threading.main_thread():
        return process
    return f"{process}/{thread.name}"


class Timeline:
    """A thread-safe collection of :class:`Record` objects.

    Use :meth:`span` (a context manager) or :meth:`track` (a decorator) from
    any number of threads of one process; merge records that child processes
    returned with :meth:`add`.  :attr:`records` is sorted by start time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[Record] = []

    @contextlib.contextmanager
    def span(self, task: str, worker: str | None = None) -> Iterator[None]:
        """Record the time spent inside the ``with`` block as one record.

        The record is kept even if the block raises.  ``worker`` defaults to
        :func:`worker_label`; pass it explicitly for greenlets or asyncio tasks,
        which all share one thread.
        """
        who = worker if worker is not None else worker_label()
        start = clock()
        try:
            yield
        finally:
            self.add(Record(who, str(task), start, clock()))

    def track(self, task: str | None = None, worker: str | None = None) -> Callable:
        """Decorator: record every call of the function (task defaults to its name)."""

        def decorate(fn: Callable) -> Callable:
            label = task if task is not None else fn.__name__

            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                with self.span(label, worker):
                    return fn(*args, **kwargs)

            return wrapper

        return decorate

    def add(self, *items: Record | Iterable[Record]) -> None:
        """Add records: single records, or iterables of records (as returned by children)."""
        new: list[Record] = []
        for item in items:
            if isinstance(item, Record):
                new.append(item)
            else:
                for rec in item:
                    if not isinstance(rec, Record):
                        rec = Record(*rec)
                    new.append(rec)
        with self._lock:
            self._records.extend(new)

    @property
    def records(self) -> list[Record]:
        """A sorted copy (by start, then worker) of everything recorded so far."""
        with self._lock:
            return sorted(self._records, key=lambda r: (r.start, r.worker, r.end))

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)


def timed(fn: Callable, *args, task: str | None = None, worker: str | None = None, **kwargs):
    """Call ``fn(*args, **kwargs)`` and return ``(result, Record)``.

    Made for child processes: submit ``timed`` itself with a module-level
    ``fn`` (``pool.submit(timed, spin, 10**6, task="job 1")``); the parent
    receives the record with the result and adds it to its :class:`Timeline`.
    """
    label = task if task is not None else getattr(fn, "__name__", "task")
    who = worker if worker is not None else worker_label()
    start = clock()
    result = fn(*args, **kwargs)
    return result, Record(who, str(label), start, clock())


def records_from_samples(samples: Iterable[tuple[str, float]], end: float | None = None,
                         task: str = "run") -> list[Record]:
    """Turn ``(worker, time)`` samples into records of uninterrupted runs.

    Each sample says "from this time on, ``worker`` was running".  A run lasts
    until the next sample of a *different* worker (consecutive samples of the
    same worker are merged).  The last run ends at ``end`` (default: the last
    sample's time).  Samples are sorted by time first.  Records are labelled
    ``f"{task} {k}"`` with k counting runs from 1.
    """
    ordered = sorted(samples, key=lambda s: s[1])
    runs: list[list] = []
    for who, t in ordered:
        if runs and runs[-1][0] == who:
            continue
        if runs:
            runs[-1][2] = t
        runs.append([who, t, t])
    if runs and end is not None:
        runs[-1][2] = max(end, runs[-1][1])
    return [Record(who, f"{task} {k}", s, e) for k, (who, s, e) in enumerate(runs, 1)]


def relative(records: Iterable[Record], t0: float | None = None) -> list[Record]:
    """Records shifted so that ``t0`` (default: the earliest start) becomes 0."""
    recs = list(records)
    if not recs:
        return []
    origin = min(r.start for r in recs) if t0 is None else t0
    return [r._replace(start=r.start - origin, end=r.end - origin) for r in recs]


def makespan(records: Iterable[Record]) -> float:
    """Seconds from the earliest start to the latest end (0.0 for no records)."""
    recs = list(records)
    if not recs:
        return 0.0
    return max(r.end for r in recs) - min(r.start for r in recs)


def max_concurrency(records: Iterable[Record]) -> int:
    """The largest number of records that were running at the same instant.

    A record that ends exactly when another starts does not overlap it.
    """
    events = []
    for r in records:
        events.append((r.start, 1))
        events.append((r.end, -1))
    events.sort(key=lambda e: (e[0], e[1]))  # ends (-1) before starts (+1) at ties
    running = best = 0
    for _, step in events:
        running += step
        best = max(best, running)
    return best


def busy_time(records: Iterable[Record]) -> dict[str, float]:
    """Total recorded seconds per worker, in order of each worker's first start."""
    totals: dict[str, float] = {}
    for r in sorted(records, key=lambda r: r.start):
        totals[r.worker] = totals.get(r.worker, 0.0) + r.duration
    return totals


def plot_timeline(records: Iterable[Record], ax=None, title: str | None = None, *,
                  color_by: str = "task", labels: bool = True, unit: str | None = None,
                  t0: float | None = None, legend: bool = False):
    """Draw records as a Gantt chart and return the matplotlib Axes.

    One row per worker (in order of first start, first at the top), one bar
    per record.  ``color_by`` is ``"task"`` or ``"worker"``; with
    ``labels=True`` a bar wide enough to hold its task label shows it.  The
    x axis is time since ``t0`` (default: the earliest start) in ``unit``
    (``"s"`` or ``"ms"``; chosen from the makespan when not given).
    """
    import matplotlib.pyplot as plt  # imported here: child processes never need it

    if color_by not in ("task", "worker"):
        raise ValueError("color_by must be 'task' or 'worker'")
    recs = sorted(records, key=lambda r: (r.start, r.worker))
    if ax is None:
        rows = len({r.worker for r in recs}) or 1
        _, ax = plt.subplots(figsize=(8, 0.32 * rows + 1.3))
    if title:
        ax.set_title(title)
    if not recs:
        ax.set_yticks([])
        ax.set_xlabel("time")
        return ax
    origin = min(r.start for r in recs) if t0 is None else t0
    span = max(r.end for r in recs) - origin
    if unit is None:
        unit = "s" if span >= 1.0 else "ms"
    scale = {"s": 1.0, "ms": 1000.0}[unit]
    workers = list(dict.fromkeys(r.worker for r in recs))
    keys = list(dict.fromkeys(getattr(r, color_by) for r in recs))
    cmap = plt.get_cmap("tab20" if len(keys) > 10 else "tab10")
    colors = {k: cmap(i % cmap.N) for i, k in enumerate(keys)}
    row = {w: i for i, w in enumerate(workers)}
    width_total = max(span * scale, 1e-9)
    show_labels = labels and len(recs) <= 60
    for r in recs:
        x, w = (r.start - origin) * scale, max(r.duration * scale, width_total / 1000)
        y = row[r.worker]
        ax.broken_barh([(x, w)], (y - 0.38, 0.76), facecolors=colors[getattr(r, color_by)],
                       edgecolor="black", linewidth=0.4)
        if show_labels and w >= width_total * 0.012 * max(len(r.task), 3):
            ax.text(x + w / 2, y, r.task, ha="center", va="center", fontsize=8, clip_on=True)
    ax.set_yticks(range(len(workers)))
    ax.set_yticklabels(workers)
    ax.set_ylim(len(workers) - 0.5, -0.5)
    ax.set_xlim(0, width_total * 1.02)
    ax.set_xlabel(f"time since first start ({unit})")
    ax.grid(axis="x", alpha=0.3)
    if legend and len(keys) <= 12:
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(facecolor=colors[k], label=str(k)) for k in keys],
                  loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    return ax
