"""Support code for ps2, *build a deadlock, detect it, fix it* (read-only: do not edit).

Grading uses the original copy of this file.  What is here:

* :class:`WatchedLock`, a ``threading.Lock`` look-alike that remembers which
  thread holds it and which threads wait for it, and calls a *switch hook*
  (if it has one) at each of its switch points: just before the real acquire,
  just after it, and just after the real release.  :func:`watching_locks`
  makes ``threading.Lock()`` return one while it is active;
  :func:`deadlocked_pair` uses them to check Part A.
* :class:`Registry`, :func:`registry` and :func:`reset_registry`: where the
  ``TrackedLock`` of Part C keeps its records, and what ``detect_deadlock`` reads.
  The registry's ``mutex`` is a WatchedLock too.
* :class:`Account` (Part D) and :class:`Table` with :func:`dine` (Part E):
  instrumented on purpose.  Their locks and balances *yield the processor* on
  every use (like a slow bank) so that races and lock-order deadlocks happen
  in seconds instead of once a month.
* :class:`StrictHost`, a switch hook that makes the worst moment happen on
  purpose: each thread, at its first lock, waits until every thread holds a
  lock or waits for one.  The table has one; :func:`run_threads` can seat the
  threads of a test at one.
* :func:`run_threads` (run callables in daemon threads, bounded) and
  :func:`where` (the line each thread is stuck on).

The tests use the switch points to run checks at the exact moments a race
needs (a thread between two steps of its own code), so that a bug that opens
a window of a single bytecode is found on every run, not once in a while.
"""
from __future__ import annotations

import _thread
import contextlib
import itertools
import sys
import threading
import time
import traceback

__all__ = [
    "WatchedLock", "watching_locks", "deadlocked_pair", "describe",
    "Registry", "registry", "reset_registry",
    "Account", "Table", "Rude", "dine", "StrictHost", "run_threads", "where",
]

# This module's own sleep and clock: a test may replace time.sleep for a moment.
_sleep = time.sleep
_monotonic = time.monotonic

# Guards the tables' bookkeeping and the snapshots that describe() takes.
# (A WatchedLock updates its own two records without it: each update is one
# atomic store, and a lock that is fast to use keeps the tests fast.)
_WATCH = _thread.allocate_lock()


def _pause(seconds: float) -> None:
    """Sleep without going through time.sleep (which a test may have patched)."""
    if seconds <= 0:
        _sleep(0)
    else:
        lock = _thread.allocate_lock()
        lock.acquire()
        lock.acquire(True, seconds)  # nobody will release it: waits `seconds`


def _yield() -> None:
    """Give other threads a chance to run (releases the GIL)."""
    _sleep(0)


# --------------------------------------------------------------------------- WatchedLock


class WatchedLock:
    """A ``threading.Lock`` look-alike that remembers who holds it and who waits.

    ``holder`` is the thread that holds it (or None); ``waiters`` maps each
    thread blocked in ``acquire`` to the timeout it waits with (-1: forever).
    The holder is recorded just *after* the real acquire and cleared just
    *before* the real release, so a recorded holder really holds the lock.
    Like ``threading.Lock``, any thread may release it.

    ``switch``, if not None, is called as ``switch(lock, where)`` at the lock's
    switch points, in the thread that uses the lock: ``"acquire"`` just before
    the real acquire, ``"acquired"`` or ``"missed"`` just after it (got the lock
    or not), ``"released"`` just after the real release.  The tests hang checks
    and forced schedules there (e.g. a :class:`StrictHost`).  It must not raise.
    ``slow=True`` yields the processor right after every successful acquire,
    which widens the window between taking one lock and the next.
    """

    _numbers = itertools.count(1)

    def __init__(self, name: str | None = None, *, slow: bool = False, switch=None):
        self.name = name or f"lock-{next(WatchedLock._numbers)}"
        self._lock = _thread.allocate_lock()
        self._slow = slow
        self.switch = switch
        self.holder: threading.Thread | None = None
        self.waiters: dict[threading.Thread, float] = {}

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        me = threading.current_thread()
        if self.switch is not None:
            self.switch(self, "acquire")
        if blocking:
            self.waiters[me] = timeout
        got = False
        try:
            got = self._lock.acquire(blocking, timeout)
        finally:
            if got:
                self.holder = me
            if blocking:
                self.waiters.pop(me, None)
        if self.switch is not None:
            self.switch(self, "acquired" if got else "missed")
        if got and self._slow:
            _yield()
        return got

    def release(self) -> None:
        if not self._lock.locked():
            raise RuntimeError(f"release unlocked lock {self.name}")
        holder, self.holder = self.holder, None
        try:
            self._lock.release()
        except RuntimeError:  # released by another thread in the meantime
            self.holder = holder
            raise
        if self.switch is not None:
            self.switch(self, "released")

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def __repr__(self):
        holder = self.holder.name if self.holder is not None else None
        return f"<WatchedLock {self.name} {'locked by ' + str(holder) if self.locked() else 'unlocked'}>"


def describe(locks) -> str:
    """One line per lock: who holds it and who waits for it.

    Exact once the threads are stuck; while they run, the lines may be a
    moment apart.
    """
    lines = []
    with _WATCH:
        for lock in locks:
            if not isinstance(lock, WatchedLock):
                lines.append(f"{lock!r}: not a watched lock")
                continue
            holder = lock.holder.name if lock.holder is not None else ("?" if lock.locked() else "nobody")
            waits = ", ".join(
                t.name + ("" if timeout == -1 else f" (for {timeout} s)") for t, timeout in lock.waiters.items()
            )
            lines.append(f"{lock.name}: held by {holder}" + (f"; waiting for it: {waits}" if waits else ""))
    return "\n".join(lines)


class _MainThreadLike(threading.Thread):
    """A Thread that is not a daemon unless told so, as if it were made by the main thread.

    (A thread inherits ``daemon`` from the thread that makes it; the tests call
    student code in daemon threads, where a forgotten ``daemon=True`` would not show.)
    """

    def __init__(self, *args, daemon=None, **kwargs):
        super().__init__(*args, daemon=bool(daemon), **kwargs)


class _ThreadingWithWatchedLocks:
    """Stands in for the threading module: the same, except that Lock() makes WatchedLocks
    and Thread() makes threads that are daemons only if told so."""

    def __init__(self, factory):
        self.Lock = factory
        self.Thread = _MainThreadLike

    def __getattr__(self, name):
        return getattr(threading, name)

    def __repr__(self):
        return "<module 'threading' (Lock() makes WatchedLocks)>"


@contextlib.contextmanager
def watching_locks(namespace: dict, **options):
    """While active, code whose globals are `namespace` gets a WatchedLock from threading.Lock().

    Pass the notebook's ``globals()``.  Both ``threading.Lock()`` and a
    ``Lock()`` imported with ``from threading import Lock`` are covered.
    `options` (``slow``, ``switch``) go to every WatchedLock made.
    Threads made meanwhile with ``threading.Thread(...)`` (or ``Thread(...)``)
    are daemons only if given ``daemon=True``, as when the main thread makes
    them, even if the code runs in a daemon thread (as it does in the tests).
    Yields the list of the WatchedLocks made so far.
    """
    made: list[WatchedLock] = []

    def factory():
        lock = WatchedLock(**options)
        made.append(lock)
        return lock

    patches = {}
    if namespace.get("threading") is threading:
        patches["threading"] = _ThreadingWithWatchedLocks(factory)
    if namespace.get("Lock") is threading.Lock:
        patches["Lock"] = factory
    if namespace.get("Thread") is threading.Thread:
        patches["Thread"] = _MainThreadLike
    saved = {name: namespace[name] for name in patches}
    namespace.update(patches)
    try:
        yield made
    finally:
        for name, value in saved.items():
            if namespace.get(name) is patches[name]:
                namespace[name] = value


def _pair_state(t1, t2, a, b):
    """(deadlocked?, explanation) for threads t1, t2 and WatchedLocks a, b, from one snapshot."""
    with _WATCH:
        alive = {t: t.is_alive() for t in (t1, t2)}
        holders = {a: a.holder, b: b.holder}
        waits = {lock: dict(lock.waiters) for lock in (a, b)}
    dead = [t.name for t, up in alive.items() if not up]
    if dead:
        return False, f"{' and '.join(dead)} finished: a deadlocked thread never finishes"
    for lock, other in ((a, b), (b, a)):
        holder = holders[lock]
        if holder not in (t1, t2):
            who = "nobody" if holder is None else holder.name
            return False, f"{lock.name} is held by {who}; each of the two threads should hold one lock"
    if holders[a] is holders[b]:
        return False, f"{holders[a].name} holds both locks; each thread should hold exactly one"
    for lock, other in ((a, b), (b, a)):
        holder = holders[lock]
        if waits[other].get(holder) is None:
            return False, f"{holder.name} holds {lock.name} but is not waiting for {other.name}"
        if waits[other][holder] != -1:
            return False, (f"{holder.name} waits for {other.name} with a timeout of {waits[other][holder]} s: "
                           "a deadlocked thread waits forever")
    return True, "each thread holds one lock and waits, forever, for the other"


def deadlocked_pair(t1, t2, a, b, within: float = 3.0, steady: float = 0.2) -> str:
    """Check that t1 and t2 deadlock on the WatchedLocks a and b within `within` seconds.

    Deadlocked means: both threads alive, each holds one of the two locks and
    waits without a timeout for the other.  The state must then last another
    `steady` seconds.  Raises AssertionError saying what is wrong; returns a
    description when all is well.
    """
    for lock in (a, b):
        assert isinstance(lock, WatchedLock), (
            f"{lock!r} was not made by threading.Lock() during the call: make both locks with "
            "threading.Lock() inside build_deadlock(), a new pair on every call"
        )
    assert a is not b, "the two locks are one and the same lock"
    deadline = _monotonic() + within
    while True:
        ok, why = _pair_state(t1, t2, a, b)
        if ok:
            break
        if _monotonic() > deadline or not (t1.is_alive() and t2.is_alive()):  # a finished thread stays finished
            raise AssertionError(f"the two threads did not deadlock (waited up to {within} s): {why}\n"
                                 + describe((a, b)))
        _pause(0.005)
    t1.join(steady)
    t2.join(steady)
    ok, why = _pair_state(t1, t2, a, b)
    assert ok, f"the deadlock did not last: {why}\n{describe((a, b))}"
    return describe((a, b))


# --------------------------------------------------------------------------- Part C: the registry


class Registry:
    """What ``detect_deadlock`` sees: the records of the TrackedLocks made since a reset.

    ``mutex``   a lock that guards the two tables: read or change them only
                while holding it.  (A WatchedLock: use it like a threading.Lock.)
    ``holder``  ``{tracked_lock: thread}``: the thread that holds each lock.
    ``waiting`` ``{thread: tracked_lock}``: the lock each thread is blocked on,
                in a blocking ``acquire`` (with or without a timeout).
    """

    def __init__(self):
        self.mutex = WatchedLock("registry.mutex")
        self.holder: dict = {}
        self.waiting: dict = {}

    def __repr__(self):
        return f"<Registry: {len(self.holder)} held, {len(self.waiting)} waiting>"


_registry = Registry()


def registry() -> Registry:
    """The current registry.  A TrackedLock keeps its records in the registry current when it was made."""
    return _registry


def reset_registry() -> Registry:
    """Start a new, empty registry and return it.

    Locks made before the reset keep writing to the old registry, so threads
    left deadlocked by an earlier test are invisible to ``detect_deadlock``.
    The tests call this at their start.
    """
    global _registry
    _registry = Registry()
    return _registry


# --------------------------------------------------------------------------- Part D: accounts


class Account:
    """A bank account with a ``lock`` and a ``balance``; slow on purpose.

    ``number``  unique and fixed for the account's life (a handy order for its lock).
    ``lock``    guards ``balance``: a WatchedLock (a threading.Lock look-alike).
    ``balance`` writing it yields the processor first, so an unguarded
                read-modify-write loses updates and a check-then-act races.
    ``lowest``  the lowest balance ever written (the tests check it never went below 0).
    """

    _numbers = itertools.count(1)

    def __init__(self, balance=0, name: str | None = None):
        self.number = next(Account._numbers)
        self.name = name or f"account-{self.number}"
        self.lock = WatchedLock(f"{self.name}.lock")
        self._balance = balance
        self.lowest = balance

    @property
    def balance(self):
        return self._balance

    @balance.setter
    def balance(self, value):
        _yield()
        self.lowest = min(self.lowest, value)
        self._balance = value

    def __repr__(self):
        return f"Account({self._balance!r}, name={self.name!r})"


# --------------------------------------------------------------------------- the strict host


class StrictHost:
    """A switch hook for WatchedLocks that makes the worst moment of an evening happen.

    Each guest thread (see :meth:`seat`), at its first switch point ``at`` on
    one of the host's locks, waits there until every guest waits there too,
    holds one of the locks, waits for one, or has left; then the evening goes on
    unhindered.  ``at="acquired"``: each guest waits holding its first lock
    (code that takes two locks in an order that *can* deadlock, will).
    ``at="acquire"``: each waits just before it reaches for its first lock
    (everything a guest does before locking happens before anyone locks).
    The host waits at most ``patience`` seconds after the first guest arrived,
    for guests that block on something else.
    """

    def __init__(self, locks=(), *, at: str = "acquired", patience: float = 0.3):
        if at not in ("acquire", "acquired"):
            raise ValueError("at is 'acquire' or 'acquired'")
        self.locks = list(locks)
        self.at = at
        self.patience = patience
        self.open = True          # False once the first guest went on: nobody waits any more
        self._guests: set[threading.Thread] = set()
        self._gone: set[threading.Thread] = set()
        self._arrived: set[threading.Thread] = set()
        self._deadline = None

    def seat(self, thread: threading.Thread) -> None:
        """`thread` is a guest."""
        with _WATCH:
            self._guests.add(thread)

    def leave(self, thread: threading.Thread) -> None:
        """`thread` has left (or will touch no lock any more): nobody waits for it."""
        with _WATCH:
            self._gone.add(thread)

    def settled(self) -> bool:
        """Every guest waits at the host, holds one of its locks, waits for one, or has left."""
        with _WATCH:
            for thread in self._guests:
                if thread in self._gone or thread in self._arrived:
                    continue
                if thread.ident is not None and not thread.is_alive():
                    continue
                if any(lock.holder is thread or thread in lock.waiters for lock in self.locks):
                    continue
                return False
            return True

    def __call__(self, lock, where: str) -> None:
        if where != self.at or not self.open:
            return
        me = threading.current_thread()
        with _WATCH:
            if me not in self._guests or me in self._arrived:
                return
            self._arrived.add(me)
            if self._deadline is None:
                self._deadline = _monotonic() + self.patience
            deadline = self._deadline
        while self.open and not self.settled() and _monotonic() < deadline:
            _pause(0.001)
        self.open = False


# --------------------------------------------------------------------------- Part E: the table


class Rude(AssertionError):
    """A philosopher broke the table's rules (ate without both forks, beside an eating
    neighbour, or again without putting the forks down in between)."""


class Table:
    """A round table for ``n`` philosophers, with ``n`` forks between them.

    Philosopher ``i``'s left fork is ``forks[left(i)] = forks[i]`` and the
    right one is ``forks[right(i)] = forks[(i + 1) % n]``; neighbours share a fork.
    With ``n = 1`` there is one fork: ``left(0) == right(0) == 0``.
    Forks are WatchedLocks (they yield after every pick-up).

    ``eat(i)``    call it while holding both of your forks; it checks that you
                  do, that neither neighbour is eating, and (``put_back=True``)
                  that you have picked up both forks again since your last
                  meal; and it counts the meal.
    ``think(i)``  optional: pass a moment between meals.
    ``meals``     how many times each philosopher has eaten.

    The host is strict (``strict_host=True``, a :class:`StrictHost`): on the
    first pick-up of the evening, each philosopher waits (holding that fork)
    until every philosopher holds a fork or waits for one (or 0.3 s have
    passed).  That is the worst moment for a dinner: a strategy that *can*
    deadlock, will.
    """

    FIRST_COURSE = 0.3

    def __init__(self, n: int, *, strict_host: bool = True, put_back: bool = True):
        if n < 1:
            raise ValueError("a table needs at least one philosopher")
        self.n = n
        self.forks = [WatchedLock(f"fork-{k}", slow=True, switch=self._switch) for k in range(n)]
        self.meals = [0] * n
        self.eating = [False] * n
        self.errors: list[str] = []
        self.put_back = put_back
        self._seats: dict[threading.Thread, int] = {}
        self._number = {id(fork): k for k, fork in enumerate(self.forks)}
        self._fresh: dict[threading.Thread, set[int]] = {}  # forks each thread picked up since its last meal
        self._host = StrictHost(self.forks, at="acquired", patience=self.FIRST_COURSE) if strict_host else None

    def left(self, i: int) -> int:
        """The number of philosopher i's left fork."""
        return i % self.n

    def right(self, i: int) -> int:
        """The number of philosopher i's right fork."""
        return (i + 1) % self.n

    def seat(self, thread: threading.Thread, i: int) -> None:
        """Tell the table that `thread` is philosopher i (dine() does this)."""
        with _WATCH:
            self._seats[thread] = i
        if self._host is not None:
            self._host.seat(thread)

    def leave(self, thread: threading.Thread) -> None:
        """Tell the table that `thread` has left (dine() does this)."""
        if self._host is not None:
            self._host.leave(thread)

    def eat(self, i: int) -> None:
        me = threading.current_thread()
        left, right = self.forks[self.left(i)], self.forks[self.right(i)]
        with _WATCH:
            problem = None
            seat = self._seats.get(me, i)
            fresh = self._fresh.get(me, set())
            if seat != i:
                problem = f"{me.name} is philosopher {seat} but ate as philosopher {i}"
            else:
                for fork in (left, right):
                    if fork.holder is not me:
                        holder = "nobody" if fork.holder is None else fork.holder.name
                        problem = f"philosopher {i} ate without holding {fork.name} (held by {holder})"
                        break
                    if self.put_back and self._number[id(fork)] not in fresh:
                        problem = (f"philosopher {i} ate again without putting {fork.name} down after the last "
                                   "meal: put both forks back after each meal, and pick them up again")
                        break
            if problem is None:
                for j in {(i - 1) % self.n, (i + 1) % self.n} - {i}:
                    if self.eating[j]:
                        problem = f"philosophers {i} and {j} ate at the same time: they share a fork"
            if problem is not None:
                self.errors.append(problem)
                raise Rude(problem)
            self.eating[i] = True
            self._fresh[me] = set()
        _yield()  # chew
        with _WATCH:
            self.eating[i] = False
            self.meals[i] += 1

    def think(self, i: int) -> None:
        _yield()

    def _switch(self, fork, where: str) -> None:
        if where == "acquired":
            with _WATCH:
                self._fresh.setdefault(threading.current_thread(), set()).add(self._number[id(fork)])
        if self._host is not None:
            self._host(fork, where)

    def __repr__(self):
        return f"<Table n={self.n} meals={self.meals}>"


def dine(philosopher, n: int, meals: int, within: float = 5.0, *, strict_host: bool = True,
         put_back: bool = True) -> Table:
    """Seat n philosophers; each runs philosopher(table, i, meals) in its own daemon thread.

    Waits at most `within` seconds for all of them, then returns the table.
    Raises AssertionError if some are still at the table (with who holds and
    waits for which fork), Rude if one broke the rules, or the first exception
    a philosopher raised.
    """
    table = Table(n, strict_host=strict_host, put_back=put_back)
    failures: list[BaseException] = []

    def run(i):
        try:
            philosopher(table, i, meals)
        except BaseException as exc:  # reported below, in the caller's thread
            failures.append(exc)
        finally:
            table.leave(threading.current_thread())

    threads = [threading.Thread(target=run, args=(i,), name=f"philosopher-{i}", daemon=True) for i in range(n)]
    for i, t in enumerate(threads):
        table.seat(t, i)
    for t in threads:
        t.start()
    deadline = _monotonic() + within
    for t in threads:
        t.join(max(0.0, deadline - _monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        raise AssertionError(
            f"the dinner for {n} did not end within {within} s; still at the table: {', '.join(stuck)}\n"
            + describe(table.forks)
        )
    if table.errors:
        raise Rude(table.errors[0])
    if failures:
        raise failures[0]
    return table


# --------------------------------------------------------------------------- threads


def run_threads(targets, *, within: float, locks=(), name: str = "worker", strict: str | None = None) -> list:
    """Run each callable of `targets` in its own daemon thread; wait at most `within` s in all.

    Returns the values they returned, in order.  Raises AssertionError if some
    thread is still running at the end (listing who holds and waits for
    `locks`), else re-raises the first exception a thread raised.
    ``strict="acquired"`` or ``"acquire"`` seats the threads at a
    :class:`StrictHost` of `locks` (WatchedLocks) for the run.
    """
    targets = list(targets)
    results: list = [None] * len(targets)
    failures: list[BaseException] = []
    host = StrictHost(locks, at=strict) if strict else None

    def run(k, fn):
        try:
            results[k] = fn()
        except BaseException as exc:  # reported below, in the caller's thread
            failures.append(exc)
        finally:
            if host is not None:
                host.leave(threading.current_thread())

    threads = [threading.Thread(target=run, args=(k, fn), name=f"{name}-{k}", daemon=True)
               for k, fn in enumerate(targets)]
    saved = [(lock, lock.switch) for lock in locks] if host is not None else []
    if host is not None:
        for t in threads:
            host.seat(t)
        for lock, _ in saved:
            lock.switch = host
    try:
        for t in threads:
            t.start()
        deadline = _monotonic() + within
        for t in threads:
            t.join(max(0.0, deadline - _monotonic()))
    finally:
        for lock, switch in saved:
            lock.switch = switch
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        detail = ("\n" + describe(locks)) if locks else ""
        raise AssertionError(f"{len(stuck)} of {len(threads)} threads still running after {within} s "
                             f"(deadlocked or hanging): {', '.join(stuck[:10])}{detail}")
    if failures:
        raise failures[0]
    return results


def where(thread: threading.Thread, limit: int = 2) -> str:
    """The last `limit` lines of Python code `thread` is running, outside this module (where it is stuck)."""
    try:
        frame = sys._current_frames().get(thread.ident)
    except RuntimeError:  # while grading no other thread's frames are handed out: read them as text
        import gradelib
        place = gradelib.stuck_at(thread, limit, skip=[__file__])
        return f"{thread.name}:\n{place}" if place else f"{thread.name}: not running"
    if frame is None:
        return f"{thread.name}: not running"
    stack = traceback.extract_stack(frame)
    while len(stack) > 1 and stack[-1].filename == __file__:
        stack.pop()  # inside a WatchedLock: show the caller
    return f"{thread.name}:\n" + "".join(traceback.format_list(stack[-limit:])).rstrip()
