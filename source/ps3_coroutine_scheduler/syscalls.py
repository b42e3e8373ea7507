"""System calls for the ps3 scheduler (read-only: do not edit).

A task talks to its scheduler by *yielding a request* and getting the answer
back as the value of the ``yield``::

    def worker():                          # a generator task
        tid = yield GetTid()               # the scheduler sends back the tid
        yield Sleep(0.5)                   # the scheduler resumes it 0.5 s later
        yield                              # a bare yield: give the turn away

    async def worker():                    # the same task with async/await
        tid = await GetTid()
        await Sleep(0.5)

``await request`` works because every request is *awaitable*: its
``__await__`` is a one-step generator that yields the request itself and
returns whatever the scheduler sends back.  A scheduler therefore sees the
same thing from both kinds of task: the request, arriving from ``send``.

The classes hold data and nothing else; what a request *does* is up to the
scheduler you write.
"""


class Cancelled(Exception):
    """A task was killed: raised in its joiners, and by ``result(tid)``."""


class SysCall:
    """Base class of every request: awaitable, with a readable repr."""

    __slots__ = ()

    def __await__(self):
        return (yield self)

    def __repr__(self):
        args = ", ".join(repr(getattr(self, name)) for name in self.__slots__)
        return f"{type(self).__name__}({args})"


class GetTid(SysCall):
    """Answer: the caller's task id (an int)."""

    __slots__ = ()


class Spawn(SysCall):
    """Start ``coro`` (a generator or coroutine object) as a new task. Answer: its tid."""

    __slots__ = ("coro",)

    def __init__(self, coro):
        self.coro = coro


class Join(SysCall):
    """Wait until task ``tid`` ends. Answer: its return value (its exception is raised instead)."""

    __slots__ = ("tid",)

    def __init__(self, tid):
        self.tid = tid


class Sleep(SysCall):
    """Resume the caller ``seconds`` from now, while the others run. Answer: None."""

    __slots__ = ("seconds",)

    def __init__(self, seconds):
        self.seconds = seconds


class Kill(SysCall):
    """End task ``tid`` now (its ``finally`` blocks run). Answer: None."""

    __slots__ = ("tid",)

    def __init__(self, tid):
        self.tid = tid


class ReadWait(SysCall):
    """Resume the caller when ``fileobj`` (a socket) can be read without blocking. Answer: None."""

    __slots__ = ("fileobj",)

    def __init__(self, fileobj):
        self.fileobj = fileobj


class WriteWait(SysCall):
    """Resume the caller when ``fileobj`` (a socket) can be written without blocking. Answer: None."""

    __slots__ = ("fileobj",)

    def __init__(self, fileobj):
        self.fileobj = fileobj


__all__ = ["Cancelled", "SysCall", "GetTid", "Spawn", "Join", "Sleep", "Kill", "ReadWait", "WriteWait"]
