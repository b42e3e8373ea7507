"""WRONG: every task gets a brand-new process (nothing is reused, chunks ignored)."""
import os
import threading
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
import multiprocessing

import tasks


def _run(conn, fn, args, kwargs):
    try:
        conn.send((True, fn(*args, **kwargs)))
    except Exception as exc:
        conn.send((False, exc))


class ProcessPool:
    def __init__(self, processes=None, *, start_method=None):
        count = os.cpu_count() if processes is None else processes
        if count < 1:
            raise ValueError("a pool needs at least one process")
        self._ctx = multiprocessing.get_context(start_method)
        self._idle = [self._ctx.Process(target=tasks.nap, args=(0,), daemon=True) for _ in range(count)]
        for p in self._idle:
            p.start()
        self._pids = [p.pid for p in self._idle]
        self._children, self._closed = [], False
        self._slots = threading.Semaphore(count)

    @property
    def pids(self):
        return list(self._pids)

    def submit(self, fn, /, *args, **kwargs):
        if self._closed:
            raise RuntimeError("shut down")
        future = Future()
        future.set_running_or_notify_cancel()
        threading.Thread(target=self._one, args=(future, fn, args, kwargs), daemon=True).start()
        return future

    def _one(self, future, fn, args, kwargs):
        with self._slots:
            mine, theirs = self._ctx.Pipe(duplex=False)
            child = self._ctx.Process(target=_run, args=(theirs, fn, args, kwargs), daemon=True)
            child.start()
            self._children.append(child)
            theirs.close()
            try:
                ok, value = mine.recv()
            except EOFError:
                child.join()
                future.set_exception(BrokenProcessPool("worker died"))
                return
            child.join()
        future.set_result(value) if ok else future.set_exception(value)

    def map(self, fn, iterable, *, chunksize=1, timeout=None):
        futures = [self.submit(fn, x) for x in iterable]
        return [f.result(timeout) for f in futures]

    def shutdown(self, wait=True):
        self._closed = True
        for p in self._idle + self._children:
            p.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()
