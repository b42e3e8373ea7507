"""A second, independent ProcessPool: shared queues and a collector thread.

Different design from the reference (which gives each worker its own pipe and
replaces workers that die): here all workers read one task queue, and the
whole pool breaks, as concurrent.futures does, when any worker dies.
"""
import itertools
import os
import threading
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
import multiprocessing
from multiprocessing.connection import wait


def _work(tasks, results):
    pid = os.getpid()
    while True:
        job = tasks.get()
        if job is None:
            results.put(("bye", pid))  # before exiting: an exit without it is a death
            return
        job_id, fn, calls = job
        results.put(("start", job_id, pid))
        values = []
        try:
            for args, kwargs in calls:
                values.append(fn(*args, **kwargs))
            results.put(("done", job_id, True, values))
        except Exception as exc:
            try:
                results.put(("done", job_id, False, exc))
            except Exception as problem:  # the exception cannot be pickled: send one that can
                results.put(("done", job_id, False, RuntimeError(f"{exc!r} cannot be pickled: {problem}")))


class ProcessPool:
    def __init__(self, processes=None, *, start_method=None):
        count = os.cpu_count() if processes is None else processes
        if count < 1:
            raise ValueError("a pool needs at least one process")
        ctx = multiprocessing.get_context(start_method)
        self._tasks, self._results = ctx.SimpleQueue(), ctx.SimpleQueue()
        self._procs = [ctx.Process(target=_work, args=(self._tasks, self._results), daemon=True)
                       for _ in range(count)]
        for proc in self._procs:
            proc.start()
        self._jobs = {}       # job id -> (future, single)
        self._left = set()    # pids of the workers that said bye: they exit, they do not die
        self._running = {}    # worker pid -> job id
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._closed = self._broken = False
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    @property
    def pids(self):
        return [p.pid for p in self._procs if p.exitcode is None]

    def _job(self, fn, calls, single):
        with self._lock:
            if self._closed:
                raise RuntimeError("pool is shut down")
            if self._broken:
                raise BrokenProcessPool("pool is broken")
            job_id, future = next(self._ids), Future()
            self._jobs[job_id] = (future, single)
            future.set_running_or_notify_cancel()
            # under the lock, so that shutdown's stop messages cannot overtake it
            self._tasks.put((job_id, fn, calls))
        return future

    def submit(self, fn, /, *args, **kwargs):
        return self._job(fn, [(args, kwargs)], True)

    def map(self, fn, iterable, *, chunksize=1, timeout=None):
        import time
        if chunksize < 1:
            raise ValueError("chunksize must be positive")
        calls = [((x,), {}) for x in iterable]
        futures = [self._job(fn, calls[i:i + chunksize], False) for i in range(0, len(calls), chunksize)]
        end = None if timeout is None else time.monotonic() + timeout
        out = []
        for f in futures:
            out.extend(f.result(None if end is None else max(0, end - time.monotonic())))
        return out

    def _collect(self):
        sentinels = {p.sentinel: p for p in self._procs}
        reader = self._results._reader
        while True:
            watch = [reader] + list(sentinels)
            ready = wait(watch)
            if reader in ready:
                message = self._results.get()
                if message[0] == "stop":
                    # shutdown() has joined every worker: one that did not say bye died meanwhile
                    if any(proc.pid not in self._left for proc in sentinels.values()):
                        self._break()
                    return
                if message[0] == "bye":
                    self._left.add(message[1])
                elif message[0] == "start":
                    self._running[message[2]] = message[1]
                else:
                    _, job_id, ok, value = message
                    self._running = {pid: j for pid, j in self._running.items() if j != job_id}
                    future, single = self._jobs.pop(job_id)
                    if ok:
                        future.set_result(value[0] if single else value)
                    else:
                        future.set_exception(value)
                continue
            # (a worker's bye is in the pipe before its sentinel is ready, and the loop
            # reads every message before it looks at the sentinels)
            dead = [s for s in ready if s in sentinels]
            if any(sentinels[s].pid not in self._left for s in dead):
                self._break()  # also while shutting down: the tasks still waiting fail
                return
            for s in dead:
                sentinels.pop(s).join()  # reap it: after shutdown(wait=False) nobody else will

    def _break(self):
        with self._lock:
            self._broken = True
            jobs, self._jobs = self._jobs, {}
        for future, _ in jobs.values():
            future.set_exception(BrokenProcessPool("a worker process died"))
        for proc in self._procs:
            proc.terminate()
        for proc in self._procs:
            proc.join()

    def shutdown(self, wait=True):
        with self._lock:
            first = not self._closed
            self._closed = True
            broken = self._broken
        if first and not broken:  # a broken pool's workers are gone: nobody would read these
            # one stop message per worker, all of them: any worker may read any of them, so one
            # that exits at once must not make the next look finished and go without one
            for _ in self._procs:
                self._tasks.put(None)
        if wait:
            for proc in self._procs:
                proc.join()
            if self._collector.is_alive():
                self._results.put(("stop",))
                self._collector.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()
