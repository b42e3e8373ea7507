"""WRONG: the work runs in threads of the parent; the 'workers' are idle decoys."""
import os
from concurrent.futures import ThreadPoolExecutor
import multiprocessing

import tasks


class ProcessPool:
    def __init__(self, processes=None, *, start_method=None):
        count = os.cpu_count() if processes is None else processes
        if count < 1:
            raise ValueError("a pool needs at least one process")
        ctx = multiprocessing.get_context(start_method)
        self._decoys = [ctx.Process(target=tasks.nap, args=(3600,), daemon=True) for _ in range(count)]
        for p in self._decoys:
            p.start()
        self._threads = ThreadPoolExecutor(count)
        self._closed = False

    @property
    def pids(self):
        return [p.pid for p in self._decoys]

    def submit(self, fn, /, *args, **kwargs):
        if self._closed:
            raise RuntimeError("shut down")
        return self._threads.submit(fn, *args, **kwargs)

    def map(self, fn, iterable, *, chunksize=1, timeout=None):
        return list(self._threads.map(fn, iterable, timeout=timeout))

    def shutdown(self, wait=True):
        self._closed = True
        self._threads.shutdown(wait=wait)
        for p in self._decoys:
            p.terminate()
            p.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()
