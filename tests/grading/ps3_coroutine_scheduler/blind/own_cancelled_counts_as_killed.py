# breaks: E2
# written as: E1, E2; reconciled after grading: not E1: its checks have no task that raises Cancelled itself; E2's list of failures is where it shows
# why: Takes any Cancelled that comes out of a task as a kill, so a task that raises Cancelled itself
#      (or lets a Join's Cancelled escape) counts as killed and is missing from failed.
# %% scheduler_solution
import collections
import heapq
import itertools
import selectors
import time

from syscalls import Cancelled, GetTid, Join, Kill, ReadWait, Sleep, Spawn, WriteWait

# YOUR CODE HERE
import numbers
import types

READY, RUNNING, SLEEPING, JOINING, WAITING_IO = "ready", "running", "sleeping", "joining", "waiting for I/O"
DONE, FAILED, KILLED = "done", "failed", "killed"
FINISHED = (DONE, FAILED, KILLED)


class _Task:
    """What the scheduler knows about one task."""

    __slots__ = ("tid", "coro", "state", "send", "throw", "value", "error",
                 "joiners", "joining", "sleep_entry", "fileobj")

    def __init__(self, tid, coro):
        self.tid, self.coro, self.state = tid, coro, READY
        self.send = self.throw = None        # what goes in at the next step
        self.value = self.error = None       # the outcome
        self.joiners = []                    # tasks waiting in Join for this one
        self.joining = None                  # the task this one waits for
        self.sleep_entry = None              # its entry in the heap of sleepers
        self.fileobj = None                  # the socket it waits for


class Scheduler:
    def __init__(self):
        self.failed = {}
        self._tids = itertools.count(1)
        self._tasks = {}
        self._ready = collections.deque()
        self._sleepers = []                  # heap of [deadline, counter, task]
        self._counter = itertools.count()
        self._selector = None
        self._io_waiting = 0
        self._handlers = {
            GetTid: self._get_tid, Spawn: self._spawn, Join: self._join, Sleep: self._sleep,
            Kill: self._kill, ReadWait: self._read_wait, WriteWait: self._write_wait,
        }

    # --- the API -------------------------------------------------------------------

    def spawn(self, coro):
        if not isinstance(coro, (types.GeneratorType, types.CoroutineType)):
            raise TypeError(f"a task is a generator or coroutine object, not {coro!r}")
        task = _Task(next(self._tids), coro)
        self._tasks[task.tid] = task
        self._ready.append(task)
        return task.tid

    def result(self, tid):
        task = self._tasks[tid]
        if task.state == DONE:
            return task.value
        if task.state in (FAILED, KILLED):
            raise task.error
        raise RuntimeError(f"task {tid} has not finished")

    def run(self):
        ready = self._ready
        try:
            while True:
                for _ in range(len(ready)):          # one round
                    task = ready.popleft()
                    if task.state == READY:          # (a task killed while ready stays queued)
                        self._step(task)
                if ready:
                    self._poll(block=False)
                elif self._sleepers or self._io_waiting:
                    self._poll(block=True)
                else:
                    return
        finally:
            if self._selector is not None and not self._io_waiting:
                self._selector.close()
                self._selector = None

    # --- running tasks ---------------------------------------------------------------

    def _step(self, task):
        task.state = RUNNING
        try:
            if task.throw is not None:
                exc, task.throw = task.throw, None
                request = task.coro.throw(exc)
            else:
                value, task.send = task.send, None
                request = task.coro.send(value)
        except StopIteration as stop:
            self._finish(task, DONE, value=stop.value)
            return
        except Cancelled as exc:
            self._finish(task, KILLED, error=exc)
            return
        except Exception as exc:
            self._finish(task, FAILED, error=exc)
            return
        if request is None:
            self._make_ready(task)
            return
        handler = self._handlers.get(type(request))
        if handler is None:
            self._make_ready(task, throw=TypeError(f"a task may yield None or a request, not {request!r}"))
        else:
            handler(task, request)

    def _make_ready(self, task, send=None, throw=None):
        task.state, task.send, task.throw = READY, send, throw
        self._ready.append(task)

    def _finish(self, task, state, value=None, error=None):
        task.state, task.value, task.error, task.coro = state, value, error, None
        joiners, task.joiners = task.joiners, []
        if state == FAILED and not joiners:
            self.failed[task.tid] = error
        for joiner in joiners:
            joiner.joining = None
            if state == DONE:
                self._make_ready(joiner, send=value)
            else:
                self._make_ready(joiner, throw=error)

    def _poll(self, block):
        """Wake the tasks whose socket is ready or whose deadline has passed; if block, wait for one first."""
        timeout = 0
        if block:
            timeout = None
            if self._sleepers:
                timeout = max(0.0, self._sleepers[0][0] - time.monotonic())
        if self._io_waiting:
            for key, _ in self._selector.select(timeout):
                task = key.data
                self._selector.unregister(key.fileobj)
                self._io_waiting -= 1
                task.fileobj = None
                self._make_ready(task)
        elif timeout:
            time.sleep(timeout)
        if self._sleepers:
            now = time.monotonic()
            while self._sleepers and self._sleepers[0][0] <= now:
                _, _, task = heapq.heappop(self._sleepers)
                task.sleep_entry = None
                self._make_ready(task)

    # --- the requests ----------------------------------------------------------------

    def _get_tid(self, task, request):
        self._make_ready(task, send=task.tid)

    def _spawn(self, task, request):
        try:
            tid = self.spawn(request.coro)
        except TypeError as exc:
            self._make_ready(task, throw=exc)
        else:
            self._make_ready(task, send=tid)

    def _join(self, task, request):
        try:
            target = self._tasks[request.tid]
        except (KeyError, TypeError):
            self._make_ready(task, throw=KeyError(request.tid))
            return
        waits_for = target
        while waits_for is not None:
            if waits_for is task:
                self._make_ready(task, throw=RuntimeError(f"Join({request.tid}) would wait for itself"))
                return
            waits_for = waits_for.joining
        if target.state == DONE:
            self._make_ready(task, send=target.value)
        elif target.state in (FAILED, KILLED):
            self.failed.pop(target.tid, None)
            self._make_ready(task, throw=target.error)
        else:
            task.state, task.joining = JOINING, target
            target.joiners.append(task)

    def _sleep(self, task, request):
        seconds = request.seconds
        if not isinstance(seconds, numbers.Real):
            self._make_ready(task, throw=TypeError(f"Sleep() takes a number of seconds, not {seconds!r}"))
            return
        entry = [time.monotonic() + seconds, next(self._counter), task]
        task.state, task.sleep_entry = SLEEPING, entry
        heapq.heappush(self._sleepers, entry)

    def _read_wait(self, task, request):
        self._wait_io(task, request.fileobj, selectors.EVENT_READ)

    def _write_wait(self, task, request):
        self._wait_io(task, request.fileobj, selectors.EVENT_WRITE)

    def _wait_io(self, task, fileobj, event):
        if self._selector is None:
            self._selector = selectors.DefaultSelector()
        try:
            self._selector.register(fileobj, event, task)
        except Exception as exc:
            self._make_ready(task, throw=exc)
            return
        self._io_waiting += 1
        task.state, task.fileobj = WAITING_IO, fileobj

    def _kill(self, task, request):
        try:
            target = self._tasks.get(request.tid)
        except TypeError:
            target = None
        if target is not None and target.state not in FINISHED:
            self._end(target)
        if target is not task:
            self._make_ready(task)

    def _end(self, target):
        """Kill target: take it out of wherever it waits, close it, wake its joiners with Cancelled."""
        if target.state == SLEEPING:
            self._sleepers.remove(target.sleep_entry)
            heapq.heapify(self._sleepers)
            target.sleep_entry = None
        elif target.state == JOINING:
            target.joining.joiners.remove(target)
            target.joining = None
        elif target.state == WAITING_IO:
            try:
                self._selector.unregister(target.fileobj)
            except (KeyError, ValueError, OSError):
                pass
            self._io_waiting -= 1
            target.fileobj = None
        target.state = KILLED                # from here on it is never resumed
        coro = target.coro
        for _ in range(1000):                # a task that catches GeneratorExit and yields again is closed again
            try:
                coro.close()
            except Exception:                # its finally block raised, or it ignored GeneratorExit
                pass
            if _closed(coro):
                break
        self._finish(target, KILLED, error=Cancelled(f"task {target.tid} was killed"))


def _closed(coro):
    """True once a generator or coroutine object can run no more."""
    frame = coro.gi_frame if isinstance(coro, types.GeneratorType) else coro.cr_frame
    return frame is None
