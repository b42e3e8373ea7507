# A different correct solution, cell by cell: each "# %% <grade_id>" line starts a cell.
# Events instead of a Barrier; Kahn's algorithm instead of a depth-first search; a lock
# built on a Condition over the registry's own mutex; try-lock and back off instead of a
# lock order; a footman instead of a fork order.

# %% build_deadlock
def build_deadlock():
    a = threading.Lock()
    b = threading.Lock()
    a_taken, b_taken = threading.Event(), threading.Event()

    def first():
        a.acquire()
        a_taken.set()
        b_taken.wait()
        b.acquire()

    def second():
        b.acquire()
        b_taken.set()
        a_taken.wait()
        a.acquire()

    threads = [threading.Thread(target=f, daemon=True) for f in (first, second)]
    for t in threads:
        t.start()
    return threads[0], threads[1], a, b

# %% find_cycle
def find_cycle(graph):
    succ = {}
    for u, vs in graph.items():
        succ.setdefault(u, [])
        for v in vs:
            succ[u].append(v)
            succ.setdefault(v, [])
    indegree = dict.fromkeys(succ, 0)
    for vs in succ.values():
        for v in vs:
            indegree[v] += 1
    sources = [u for u, d in indegree.items() if d == 0]
    while sources:  # peel off nodes nothing leads to; what is left leads into a cycle
        u = sources.pop()
        for v in succ[u]:
            indegree[v] -= 1
            if indegree[v] == 0:
                sources.append(v)
    left = {u for u, d in indegree.items() if d > 0}
    if not left:
        return None
    pred = {}
    for u in left:  # every node left has a predecessor that is left too
        for v in succ[u]:
            if v in left:
                pred.setdefault(v, u)
    node, seen, back = next(iter(left)), {}, []
    while node not in seen:  # walk backwards until a node repeats
        seen[node] = len(back)
        back.append(node)
        node = pred[node]
    return back[seen[node]:][::-1]

# %% tracked_lock
class TrackedLock:
    def __init__(self, name=None):
        self.name = name or "tracked-%d" % id(self)
        self._reg = registry()
        self._free = threading.Condition(self._reg.mutex)  # the state *is* the records

    def acquire(self, blocking=True, timeout=-1):
        me = threading.current_thread()
        holder = self._reg.holder
        with self._free:
            if self not in holder:
                holder[self] = me
                return True
            if not blocking:
                return False
            self._reg.waiting[me] = self
            try:
                self._free.wait_for(lambda: self not in holder, None if timeout < 0 else timeout)
            finally:
                del self._reg.waiting[me]
            if self in holder:
                return False
            holder[self] = me
            return True

    def release(self):
        with self._free:
            if self._reg.holder.get(self) is not threading.current_thread():
                raise RuntimeError("not yours")
            del self._reg.holder[self]
            self._free.notify()

    def locked(self):
        with self._reg.mutex:
            return self in self._reg.holder

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def detect_deadlock():
    reg = registry()
    with reg.mutex:
        edges = {t: (reg.holder[lock],) for t, lock in reg.waiting.items() if lock in reg.holder}
    names = {t: t.name for t in edges}
    cycle = find_cycle(edges)
    return cycle and [names[t] for t in cycle]

# %% transfer
def transfer(src, dst, amount):
    while True:
        with src.lock:
            if dst is src or dst.lock.acquire(blocking=False):
                try:
                    if src.balance < amount:
                        raise ValueError("insufficient funds")
                    if dst is not src:
                        src.balance -= amount
                        dst.balance += amount
                    return
                finally:
                    if dst is not src:
                        dst.lock.release()
        time.sleep(random.random() / 10_000)  # back off, then try again

# %% philosopher
import weakref

_footmen = weakref.WeakKeyDictionary()
_footmen_lock = threading.Lock()

def philosopher(table, i, meals):
    with _footmen_lock:
        footman = _footmen.setdefault(table, threading.Semaphore(max(1, table.n - 1)))
    mine = {table.left(i): table.forks[table.left(i)], table.right(i): table.forks[table.right(i)]}
    for _ in range(meals):
        with footman:  # at most n - 1 at the table: someone can always eat
            for fork in mine.values():  # left, then right; one fork at a table for one
                fork.acquire()
            table.eat(i)
            for fork in mine.values():
                fork.release()
        table.think(i)
