# breaks: B1, F5
# why: submit takes a semaphore with one slot per worker and waits for a free slot, so it blocks while every worker is busy instead of returning a Future at once.
# written as: B1; reconciled after grading: a submit blocked on the semaphore when shutdown() runs in another thread waits forever (F5: it must raise or return a future that gets its value)
# %% pool_solution
%%writefile pool.py
"""pool.py: a process pool built from multiprocessing's primitives."""
import itertools
import os
import pickle
import threading
import traceback
from collections import deque
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
import multiprocessing
from multiprocessing.connection import wait

import time

_STOP = None  # the message that tells a worker to exit


def _worker(conn):
    """A worker's life: receive (task id, fn, args, kwargs), run it, send (task id, ok, value)."""
    parent = multiprocessing.parent_process()
    watch = [conn] if parent is None else [conn, parent.sentinel]
    while True:
        try:
            if conn not in wait(watch):  # the parent has gone
                return
            message = conn.recv()
        except (EOFError, OSError):  # the parent has gone
            return
        if message is _STOP:
            return
        task_id, fn, args, kwargs = message
        try:
            reply = (task_id, True, fn(*args, **kwargs))
        except BaseException as exc:  # the exception object itself goes back
            reply = (task_id, False, exc)
        try:
            conn.send(reply)
        except OSError:
            return
        except Exception as exc:  # the value or the exception does not pickle
            conn.send((task_id, False, RuntimeError(f"the task's outcome cannot be sent back: {exc!r}")))


def _run_chunk(fn, items):
    """One chunk of a map: fn on each item, in order; the results travel back together."""
    return [fn(x) for x in items]


class _Worker:
    """The parent's record of one worker process."""

    def __init__(self, process, conn):
        self.process = process
        self.conn = conn
        self.sentinel = process.sentinel
        self.pid = process.pid
        self.task = None    # the id of the task it runs, or None when idle
        self.dead = False


class ProcessPool:
    """A fixed-size pool of worker processes.

    ProcessPool(processes=None, *, start_method=None)
    """

    def __init__(self, processes=None, *, start_method=None):
        if processes is None:
            processes = os.cpu_count() or 1
        if processes < 1:
            raise ValueError(f"processes must be at least 1, not {processes!r}")
        self._ctx = multiprocessing.get_context(start_method)  # ValueError for an unknown method
        self._lock = threading.Lock()
        self._workers = []        # the live workers
        self._idle = deque()      # those without a task
        self._pending = deque()   # (task id, fn, args, kwargs) not yet sent
        self._futures = {}        # task id -> Future, until its outcome is set
        self._next_id = 0
        self._shutdown = False    # no new work
        self._closed = False      # the manager thread has stopped the workers
        self._woken = False       # a wake-up byte is in the pipe
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        self._free = threading.Semaphore(processes)  # one slot per worker
        for _ in range(processes):
            self._start_worker()
        self._thread = threading.Thread(target=self._run, name="ProcessPool-manager", daemon=True)
        self._thread.start()

    @property
    def pids(self):
        """The pids of the live workers."""
        with self._lock:
            return [w.pid for w in self._workers]

    def submit(self, fn, /, *args, **kwargs):
        """Schedule fn(*args, **kwargs) on a worker; return a concurrent.futures.Future."""
        self._free.acquire()  # wait for a free worker
        future = self._enqueue([(fn, args, kwargs)])[0]
        future.add_done_callback(lambda _: self._free.release())
        return future

    def map(self, fn, iterable, *, chunksize=1, timeout=None):
        """Return [fn(x) for x in iterable], computed by the workers, in input order."""
        if chunksize < 1:
            raise ValueError(f"chunksize must be at least 1, not {chunksize!r}")
        deadline = None if timeout is None else time.monotonic() + timeout
        items = list(iterable)
        calls = [(_run_chunk, (fn, items[i:i + chunksize]), {}) for i in range(0, len(items), chunksize)]
        futures = self._enqueue(calls)
        results = []
        try:
            for future in futures:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                results.extend(future.result(left))
        except BaseException:
            for future in futures:
                future.cancel()  # the chunks not started yet; the others run to no one
            raise
        return results

    def shutdown(self, wait=True):
        """Stop accepting work; finish what was submitted; stop the workers."""
        with self._lock:
            self._shutdown = True
            self._wake()
        if wait and threading.current_thread() is not self._thread:
            self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.shutdown(wait=True)

    # --- the parent's side ------------------------------------------------------------

    def _wake(self):
        """Wake the manager thread (call with the lock held)."""
        if not self._woken and not self._closed:
            self._woken = True
            self._wake_w.send_bytes(b"!")

    def _enqueue(self, calls):
        """Queue the calls [(fn, args, kwargs), ...] together; return their futures."""
        futures = [Future() for _ in calls]
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new tasks after shutdown")
            for future, (fn, args, kwargs) in zip(futures, calls):
                task_id = self._next_id
                self._next_id += 1
                self._futures[task_id] = future
                self._pending.append((task_id, fn, args, kwargs))
            if calls:
                self._wake()
        return futures

    def _start_worker(self):
        parent_end, child_end = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker, args=(child_end,), daemon=True)
        process.start()
        child_end.close()  # so that the parent's end sees EOF when the worker dies
        worker = _Worker(process, parent_end)
        with self._lock:
            self._workers.append(worker)
            self._idle.append(worker)
        return worker

    def _run(self):
        try:
            self._loop()
        except BaseException as exc:  # a bug here must not leave futures waiting forever
            self._abandon(exc)

    def _loop(self):
        while True:
            self._dispatch()
            with self._lock:
                if self._shutdown and not self._futures:
                    self._closed = True
                    break
                workers = list(self._workers)
            waitables = [self._wake_r]
            for w in workers:
                waitables += [w.conn, w.sentinel]
            ready = wait(waitables)
            if self._wake_r in ready:
                with self._lock:
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
                    self._woken = False
            for w in workers:
                if w.conn in ready:
                    self._receive(w)
            for w in workers:
                if w.dead or w.sentinel in ready:
                    self._bury(w)
        self._stop_workers()

    def _dispatch(self):
        """Send queued tasks to idle workers."""
        while True:
            with self._lock:
                if not self._pending or not self._idle:
                    return
                task_id, fn, args, kwargs = self._pending.popleft()
                w = self._idle.popleft()
                future = self._futures[task_id]
                w.task = task_id
            if not future.set_running_or_notify_cancel():  # cancelled while it waited
                with self._lock:
                    del self._futures[task_id]
                    w.task = None
                    self._idle.appendleft(w)
                continue
            try:
                w.conn.send((task_id, fn, args, kwargs))
            except OSError:  # the worker has died: its sentinel will say so
                w.dead = True
            except Exception as exc:  # fn or its arguments do not pickle
                with self._lock:
                    del self._futures[task_id]
                    w.task = None
                    self._idle.appendleft(w)
                future.set_exception(exc)

    def _receive(self, w):
        try:
            message = w.conn.recv()
        except (EOFError, OSError):
            w.dead = True
            return
        except Exception as exc:  # the outcome does not unpickle
            message = (w.task, False, exc)
        task_id, ok, value = message
        with self._lock:
            future = self._futures.pop(task_id, None)
            w.task = None
            self._idle.append(w)
        if future is not None:  # set outside the lock: its callbacks may call submit
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _bury(self, w):
        """A worker died without being asked to: reap it, fail its task, replace it."""
        with self._lock:
            if w not in self._workers:
                return
            self._workers.remove(w)
            if w in self._idle:
                self._idle.remove(w)
            future = self._futures.pop(w.task, None) if w.task is not None else None
            replace = not self._shutdown or bool(self._pending)
        w.process.join()
        code = w.process.exitcode
        w.conn.close()
        w.process.close()
        if future is not None:
            future.set_exception(BrokenProcessPool(f"worker {w.pid} died (exit code {code}) while running a task"))
        if replace:
            self._start_worker()

    def _stop_workers(self):
        with self._lock:
            workers = list(self._workers)
        for w in workers:
            try:
                w.conn.send(_STOP)
            except OSError:
                pass
        for w in workers:
            w.process.join()
            w.conn.close()
            w.process.close()
        with self._lock:
            self._workers.clear()
            self._idle.clear()
        self._wake_r.close()
        self._wake_w.close()

    def _abandon(self, exc):
        """The manager thread failed: fail every open future, stop the workers."""
        with self._lock:
            self._shutdown = self._closed = True
            futures = list(self._futures.values())
            self._futures.clear()
            self._pending.clear()
            workers = list(self._workers)
            self._workers.clear()
            self._idle.clear()
        for future in futures:
            try:
                future.set_exception(BrokenProcessPool(f"the pool's manager thread failed: {exc!r}"))
            except Exception:
                pass
        for w in workers:
            w.process.terminate()
            w.process.join()
