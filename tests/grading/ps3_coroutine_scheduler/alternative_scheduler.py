# A different correct scheduler: state in dicts keyed by tid, one step at a time,
# `match` on the requests, Kill by throwing Cancelled, and a wake-up socket pair so
# that select() always has something to watch (even on Windows).
import heapq
import numbers
import itertools
import selectors
import socket
import time
from collections import deque

from syscalls import Cancelled, GetTid, Join, Kill, ReadWait, Sleep, Spawn, WriteWait

_MISSING = object()


class Scheduler:
    def __init__(self):
        self.failed = {}
        self._next_tid = itertools.count(100, 7)
        self._coros = {}            # tid -> coroutine, while alive
        self._outcomes = {}         # tid -> (kind, value) once ended
        self._ready = deque()       # (tid, value, exception)
        self._timers = []           # heap of (deadline, seq, tid)
        self._seq = itertools.count()
        self._joiners = {}          # tid -> [tids waiting for it]
        self._joining = {}          # tid -> the tid it waits for in Join
        self._io = {}               # tid -> fileobj it waits for
        self._sel = selectors.DefaultSelector()

    def spawn(self, coro):
        if not all(callable(getattr(coro, name, None)) for name in ("send", "throw", "close")):
            raise TypeError(f"not a generator or coroutine: {coro!r}")
        tid = next(self._next_tid)
        self._coros[tid] = coro
        self._ready.append((tid, None, None))
        return tid

    def result(self, tid):
        if tid in self._coros:
            raise RuntimeError(f"task {tid} is still running")
        kind, value = self._outcomes[tid]
        if kind == "ok":
            return value
        if kind == "killed":
            raise Cancelled(tid)
        raise value

    # ---------------------------------------------------------------------------
    def run(self):
        waker, other = socket.socketpair()
        self._sel.register(waker, selectors.EVENT_READ, None)
        try:
            steps = 0
            while self._coros:
                self._wake_timers()
                if not self._ready:
                    self._poll(self._timeout())
                    continue
                steps += 1
                if steps % 64 == 0:
                    self._poll(0)
                self._step(*self._ready.popleft())
        finally:
            self._sel.unregister(waker)
            waker.close()
            other.close()

    def _timeout(self):
        while self._timers and self._timers[0][2] not in self._coros:
            heapq.heappop(self._timers)
        if not self._timers:
            if len(self._sel.get_map()) == 1:
                raise RuntimeError("deadlock: every task waits for another")
            return None
        return max(0.0, self._timers[0][0] - time.monotonic())

    def _wake_timers(self):
        if self._timers:
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now:
                tid = heapq.heappop(self._timers)[2]
                if tid in self._coros:
                    self._ready.append((tid, None, None))

    def _poll(self, timeout):
        for key, _ in self._sel.select(timeout):
            if key.data is not None:
                self._sel.unregister(key.fileobj)
                del self._io[key.data]
                self._ready.append((key.data, None, None))

    def _step(self, tid, value, exc):
        coro = self._coros.get(tid)
        if coro is None:
            return
        try:
            request = coro.send(value) if exc is None else coro.throw(exc)
        except StopIteration as stop:
            self._end(tid, "ok", stop.value)
            return
        except Exception as error:
            self._end(tid, "error", error)
            return
        self._handle(tid, request)

    def _handle(self, tid, request):
        reply = lambda value=None, exc=None: self._ready.append((tid, value, exc))
        match request:
            case None:
                reply()
            case GetTid():
                reply(tid)
            case Spawn(coro=coro):
                try:
                    reply(self.spawn(coro))
                except TypeError as error:
                    reply(exc=error)
            case Join(tid=target):
                if target in self._outcomes:
                    self._ready.append(self._answer_joiner(tid, target))
                elif target not in self._coros:
                    reply(exc=KeyError(target))
                elif self._chain_reaches(target, tid):
                    reply(exc=RuntimeError(f"Join({target}) from task {tid} closes a cycle"))
                else:
                    self._joiners.setdefault(target, []).append(tid)
                    self._joining[tid] = target
            case Sleep(seconds=seconds) if isinstance(seconds, numbers.Real):
                heapq.heappush(self._timers, (time.monotonic() + seconds, next(self._seq), tid))
            case Sleep():
                reply(exc=TypeError(f"Sleep() needs a number of seconds, not {request.seconds!r}"))
            case Kill(tid=target):
                self._kill(target)
                if tid in self._coros:
                    reply()
            case ReadWait(fileobj=f) | WriteWait(fileobj=f):
                event = selectors.EVENT_READ if isinstance(request, ReadWait) else selectors.EVENT_WRITE
                try:
                    self._sel.register(f, event, tid)
                except (ValueError, KeyError, OSError) as error:
                    reply(exc=error)
                else:
                    self._io[tid] = f
            case _:
                reply(exc=TypeError(f"unknown request {request!r}"))

    def _chain_reaches(self, start, tid):
        """Does the chain of joins from `start` (start itself included) lead to `tid`?"""
        while start is not None:
            if start == tid:
                return True
            start = self._joining.get(start)
        return False

    def _answer_joiner(self, joiner, target):
        kind, value = self._outcomes[target]
        if kind == "ok":
            return (joiner, value, None)
        self.failed.pop(target, None)
        return (joiner, None, Cancelled(target) if kind == "killed" else value)

    def _end(self, tid, kind, value):
        del self._coros[tid]
        self._outcomes[tid] = (kind, value)
        waiting = self._joiners.pop(tid, [])
        if kind == "error" and not waiting:
            self.failed[tid] = value
        for joiner in waiting:
            self._joining.pop(joiner, None)
            if joiner in self._coros:
                self._ready.append(self._answer_joiner(joiner, tid))

    def _kill(self, target):
        coro = self._coros.get(target)
        if coro is None:
            return
        if target in self._io:
            self._sel.unregister(self._io.pop(target))
        self._joining.pop(target, None)
        self._ready = deque(item for item in self._ready if item[0] != target)
        try:
            coro.throw(Cancelled(target))
        except BaseException:
            pass
        else:
            coro.close()  # it caught Cancelled and went on: close it for good
        if target in self._coros:
            self._end(target, "killed", None)
