# breaks: B2, B3, C8, C10
# written as: B3, C10; reconciled after grading: also B2: on cyclic graphs it returns node lists that are not cycles; and C8: a detector that starts from a bystander names it
# why: Uses a single "visited" mark for grey and black nodes alike: meeting a node that was finished along another path (the bottom of a diamond) is taken for a cycle.
# %% build_deadlock
def build_deadlock():
    """Start two daemon threads that deadlock, every time; return (t1, t2, lock_a, lock_b) at once.

    Make both locks with threading.Lock(), a new pair on every call.  Each
    thread ends up holding one of the locks and waiting, forever, for the other.
    """
    lock_a = threading.Lock()
    lock_b = threading.Lock()
    both_hold_one = threading.Barrier(2)

    def cross(first, second):
        with first:
            both_hold_one.wait()
            with second:
                pass

    t1 = threading.Thread(target=cross, args=(lock_a, lock_b), name="deadlock-1", daemon=True)
    t2 = threading.Thread(target=cross, args=(lock_b, lock_a), name="deadlock-2", daemon=True)
    t1.start()
    t2.start()
    return t1, t2, lock_a, lock_b

# %% find_cycle
def find_cycle(graph):
    """Return a cycle [n0, n1, ..., nk] of `graph` (no node twice), or None if it has none.

    graph maps each node to an iterable of its successors; a node that appears
    only as a successor has none.  n0 -> n1, ..., n(k-1) -> nk and nk -> n0
    are all edges.  No recursion: it must work on a chain of 100 000 nodes.
    """
    GREY, BLACK = 1, 2
    colour = {}                          # absent: white
    for root in graph:
        if root in colour:
            continue
        colour[root] = GREY
        path = [root]                    # the grey nodes, in order
        todo = [iter(graph.get(root, ()))]  # for each node on the path, the successors not tried yet
        while todo:
            for nxt in todo[-1]:
                seen = colour.get(nxt)
                if seen is not None:
                    return path[path.index(nxt):] if nxt in path else path[:]
                if seen is None:
                    colour[nxt] = GREY
                    path.append(nxt)
                    todo.append(iter(graph.get(nxt, ())))
                    break
            else:
                todo.pop()
                colour[path.pop()] = BLACK
    return None

# %% tracked_lock
import itertools

_tracked_names = itertools.count(1)


class TrackedLock:
    """A non-reentrant lock that keeps its records in deadlock_support's registry.

    The registry is the one current when the lock is made (registry()).
    Records, always changed while holding registry.mutex:
      holder[lock] = thread   from just after the thread gets the lock until
                              just before it lets go of it;
      waiting[thread] = lock  while the thread is in a blocking acquire()
                              (with or without a timeout), got it or not.
    """

    def __init__(self, name=None):
        """`name` is for messages: keep it in self.name (make one up if it is None)."""
        self.name = name if name is not None else f"tracked-{next(_tracked_names)}"
        self._registry = registry()
        self._lock = threading.Lock()

    def acquire(self, blocking=True, timeout=-1):
        """Like threading.Lock.acquire: True if the lock was acquired, False if not."""
        me = threading.current_thread()
        reg = self._registry
        if not blocking:
            if timeout != -1:
                raise ValueError("can't specify a timeout for a non-blocking call")
            with reg.mutex:
                got = self._lock.acquire(False)
                if got:
                    reg.holder[self] = me
            return got
        with reg.mutex:
            reg.waiting[me] = self
        got = False
        try:
            got = self._lock.acquire(True, timeout)
        finally:
            with reg.mutex:
                if reg.waiting.get(me) is self:
                    del reg.waiting[me]
                if got:
                    reg.holder[self] = me
        return got

    def release(self):
        """Release the lock; RuntimeError if the calling thread does not hold it."""
        me = threading.current_thread()
        reg = self._registry
        with reg.mutex:
            if reg.holder.get(self) is not me:
                raise RuntimeError(f"{me.name} cannot release {self.name}: it does not hold it")
            del reg.holder[self]
            self._lock.release()

    def locked(self):
        """True if some thread holds the lock."""
        return self._lock.locked()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def __repr__(self):
        return f"<TrackedLock {self.name} {'locked' if self.locked() else 'unlocked'}>"


def detect_deadlock():
    """Names of the threads in a deadlock among the TrackedLocks of the current registry, or None.

    In cycle order: the first waits for a lock the second holds, ..., and the
    last waits for a lock the first holds.  Uses find_cycle.
    """
    reg = registry()
    with reg.mutex:
        holder = dict(reg.holder)
        waiting = dict(reg.waiting)
    graph = {}
    for thread, lock in waiting.items():
        owner = holder.get(lock)
        if owner is not None:
            graph[thread] = [owner]
    cycle = find_cycle(graph)
    if cycle is None:
        return None
    return [thread.name for thread in cycle]

# %% transfer
def transfer(src, dst, amount):
    """Move `amount` from src to dst, or raise ValueError (changing nothing) if src has less.

    Never deadlocks, whatever other transfers run at the same time, and
    transfer(a, a, x) changes nothing.
    """
    if src is dst:
        with src.lock:
            if src.balance < amount:
                raise ValueError(f"{src.name} holds {src.balance}, less than {amount}")
        return
    first, second = sorted((src, dst), key=lambda account: account.number)
    with first.lock:
        with second.lock:
            if src.balance < amount:
                raise ValueError(f"{src.name} holds {src.balance}, less than {amount}")
            src.balance -= amount
            dst.balance += amount

# %% philosopher
def philosopher(table, i, meals):
    """Philosopher i eats `meals` times at `table`, each time holding both of its forks."""
    numbers = sorted({table.left(i), table.right(i)})  # lower number first; one fork at a table for one
    forks = [table.forks[k] for k in numbers]
    for _ in range(meals):
        for fork in forks:
            fork.acquire()
        try:
            table.eat(i)
        finally:
            for fork in reversed(forks):
                fork.release()
        table.think(i)
