"""ps2_deadlock: a different correct solution, and the common mistakes it must catch.

Every case is a complete submission: the reference solution cells, with the
cell(s) under test replaced (the end-to-end loop submits PARTIAL into a blank
release, so it must fill every cell).  Each wrong case loses exactly the test
cells of the rules it breaks (rules.py maps the rules to cells and cases).
"""
import re
from pathlib import Path

from grading import Case, mutate, read
from tools.assignments import reference_solutions

HERE = Path(__file__).parent
REF = reference_solutions("ps2_deadlock")

A_DEADLOCK, A_EVERY_TIME = "test_part_a_deadlock", "test_part_a_every_time"
B_CYCLES, B_ACYCLIC, B_INPUT, B_LARGE = "test_part_b_cycles", "test_part_b_acyclic", "test_part_b_input", "test_part_b_large"
C_LOCK, C_RECORDS, C_DETECT, C_QUIET = "test_part_c_lock", "test_part_c_records", "test_part_c_detect", "test_part_c_no_false_alarm"
D_MOVES, D_SAME, D_ATOMIC, D_DEADLOCK = "test_part_d_moves", "test_part_d_same_account", "test_part_d_atomic", "test_part_d_deadlock"
E_MEALS, E_DINNER, E_ONE = "test_part_e_meals", "test_part_e_dinner", "test_part_e_table_for_one"


def cells_of(path: Path) -> dict:
    """{grade_id: code} from a file whose cells start with a line `# %% <grade_id>`."""
    parts = re.split(r"^# %% (\w+)\n", read(path), flags=re.M)
    return {gid: code.strip("\n") + "\n" for gid, code in zip(parts[1::2], parts[2::2])}


def submission(**cells) -> dict:
    unknown = set(cells) - set(REF)
    if unknown:
        raise KeyError(f"no such solution cells: {sorted(unknown)}")
    return {**REF, **cells}


def ref(gid: str, *edits) -> dict:
    """The reference solution with `edits` applied to cell `gid`."""
    return submission(**{gid: mutate(REF[gid], *edits)})


def wrong(gid: str, name: str) -> dict:
    """The reference solution with cell `gid` replaced by tests/grading/ps2_deadlock/wrong_<name>.py."""
    return submission(**{gid: read(HERE / f"wrong_{name}.py")})


def loses(*cells) -> frozenset:
    return frozenset(cells)


ALT = cells_of(HERE / "alternative.py")

# The reference TrackedLock's acquire and release, as anchors for the edits below.
WAIT = "        if blocking:\n            with reg.mutex:\n                reg.waiting[me] = self\n"
DONE = ("            with reg.mutex:\n                if blocking:\n                    del reg.waiting[me]\n"
        "                if got:\n                    reg.holder[self] = me\n")
RELEASE = ("        with reg.mutex:\n            if reg.holder.get(self) is not me:\n"
           "                raise RuntimeError(f\"{me.name} cannot release {self.name}: it does not hold it\")\n"
           "            del reg.holder[self]\n            self._lock.release()\n")
SNAPSHOT = ("    with reg.mutex:  # one consistent snapshot\n"
            "        graph = {thread: [reg.holder[lock]] for thread, lock in reg.waiting.items() if lock in reg.holder}\n")
REFUSE = "            raise ValueError(f\"{src.name} has {src.balance}, cannot pay {amount}\")\n"

CASES = [
    Case("alternative", submission(**ALT), frozenset(),
         "Events, Kahn's algorithm, a Condition-based lock, try-lock transfers, a footman: must earn full marks"),

    # --- Part A ------------------------------------------------------------------
    Case("sleepy_deadlock", wrong("build_deadlock", "sleepy_deadlock"), loses(A_EVERY_TIME),
         "the deadlock relies on time.sleep instead of a Barrier or Events (A5)"),
    Case("non_daemon", ref(
        "build_deadlock",
        ('name="deadlock-1", daemon=True)', 'name="deadlock-1")'),
        ('name="deadlock-2", daemon=True)', 'name="deadlock-2")'),
    ), loses(A_DEADLOCK), "the two threads are not daemons (A2)"),
    Case("timed_wait", ref(
        "build_deadlock",
        ("            with second:          # so this waits forever\n                pass\n",
         "            if second.acquire(timeout=10):  # never wait forever\n                second.release()\n"),
    ), loses(A_DEADLOCK, A_EVERY_TIME), "each thread waits for the other lock with a timeout (A3)"),
    Case("module_level_locks", wrong("build_deadlock", "module_level_locks"), loses(A_DEADLOCK, A_EVERY_TIME),
         "the two locks are made once, outside build_deadlock (A1)"),
    Case("joins_threads", ref(
        "build_deadlock",
        ("    t2.start()\n    return", "    t2.start()\n    t1.join()  # wait for the threads\n    t2.join()\n    return"),
    ), loses(A_DEADLOCK, A_EVERY_TIME), "build_deadlock joins its threads, so it never returns (A4)"),

    # --- Part B ------------------------------------------------------------------
    Case("recursive_find_cycle", wrong("find_cycle", "recursive_find_cycle"), loses(B_LARGE),
         "a recursive depth-first search: RecursionError on a long chain (B4)"),
    Case("forgets_finished", wrong("find_cycle", "forgets_finished"), loses(B_LARGE),
         "finished nodes are not remembered: exponential on stacked diamonds, quadratic on a chain (B5)"),
    Case("removes_finished_nodes", wrong("find_cycle", "removes_finished_nodes"), loses(B_INPUT),
         "finished nodes are deleted from the caller's graph (B1)"),
    Case("no_self_loops", ref(
        "find_cycle",
        ("            for nxt in todo[-1]:\n",
         "            for nxt in todo[-1]:\n                if nxt == path[-1]:\n                    continue  # skip x -> x\n"),
    ), loses(B_CYCLES, C_DETECT), "the cycle finder skips self-loops, so a lock taken twice goes unnoticed (B2, C8)"),
    Case("two_cycles_only", wrong("find_cycle", "two_cycles_only"), loses(B_CYCLES, C_DETECT),
         "only cycles of one or two nodes are found (B2, C8)"),
    Case("seen_is_cycle", wrong("find_cycle", "seen_is_cycle"), loses(B_CYCLES, B_ACYCLIC, C_DETECT, C_QUIET),
         "any node reached twice is taken for a cycle: diamonds and queues become cycles, and a detector "
         "that starts from a bystander names it (B3, B2, C8, C10)"),

    # --- Part C ------------------------------------------------------------------
    Case("acquire_returns_none", ref("tracked_lock", ("        return got\n", "")), loses(C_LOCK),
         "acquire() forgets to return whether it got the lock (C1)"),
    Case("rlock_inside", ref(
        "tracked_lock",
        ("        self._lock = threading.Lock()\n", "        self._lock = threading.RLock()  # only the owner may release it\n"),
        ("        return self._lock.locked()\n",
         "        with self._registry.mutex:  # an RLock has no locked()\n            return self in self._registry.holder\n"),
    ), loses(C_LOCK, C_DETECT), "built on an RLock: reentrant, so a lock taken twice is no deadlock (C2, C8)"),
    Case("release_by_anyone", ref(
        "tracked_lock",
        ("            if reg.holder.get(self) is not me:\n"
         "                raise RuntimeError(f\"{me.name} cannot release {self.name}: it does not hold it\")\n"
         "            del reg.holder[self]",
         "            reg.holder.pop(self, None)"),
    ), loses(C_LOCK), "any thread may release a TrackedLock, as with threading.Lock (C3)"),
    Case("registry_per_call", ref(
        "tracked_lock",
        ("        me = threading.current_thread()\n        reg = self._registry\n        if blocking:",
         "        me = threading.current_thread()\n        reg = registry()\n        if blocking:"),
        ("        me = threading.current_thread()\n        reg = self._registry\n        with reg.mutex:",
         "        me = threading.current_thread()\n        reg = registry()\n        with reg.mutex:"),
    ), loses(C_RECORDS), "the records go to the registry current at each call, not the lock's own (C4)"),
    Case("records_without_mutex", ref(
        "tracked_lock",
        (WAIT, "        if blocking:\n            reg.waiting[me] = self  # one dict operation: atomic anyway\n"),
        (DONE, "            if blocking:\n                del reg.waiting[me]\n            if got:\n                reg.holder[self] = me\n"),
        (RELEASE, "        if reg.holder.get(self) is not me:\n"
                  "            raise RuntimeError(f\"{me.name} cannot release {self.name}: it does not hold it\")\n"
                  "        del reg.holder[self]\n        self._lock.release()\n"),
    ), loses(C_RECORDS, C_QUIET), "the records are changed without the registry's mutex (C5, C10)"),
    Case("release_before_record", ref(
        "tracked_lock",
        (RELEASE, "        with reg.mutex:\n            if reg.holder.get(self) is not me:\n"
                  "                raise RuntimeError(f\"{me.name} cannot release {self.name}: it does not hold it\")\n"
                  "        self._lock.release()\n"
                  "        with reg.mutex:  # then the records\n"
                  "            if reg.holder.get(self) is me:\n                del reg.holder[self]\n"),
    ), loses(C_RECORDS), "the real release comes before the holder record is removed (C6)"),
    Case("stale_waiting_record", ref(
        "tracked_lock",
        ("                if blocking:\n                    del reg.waiting[me]\n                if got:\n"
         "                    reg.holder[self] = me",
         "                if got:\n                    reg.waiting.pop(me, None)\n"
         "                    reg.holder[self] = me"),
    ), loses(C_RECORDS, C_QUIET), "a timed-out acquire leaves its waiting record behind: false alarms (C7, C10)"),
    Case("nonblocking_records_wait", ref(
        "tracked_lock",
        (WAIT, "        with reg.mutex:\n            reg.waiting[me] = self\n"),
        ("                if blocking:\n                    del reg.waiting[me]\n",
         "                del reg.waiting[me]\n"),
    ), loses(C_RECORDS, C_QUIET), "acquire(blocking=False) writes a waiting record for a moment: false alarms (C7, C10)"),
    Case("contention_is_deadlock", ref(
        "tracked_lock",
        ("        graph = {thread: [reg.holder[lock]] for thread, lock in reg.waiting.items() if lock in reg.holder}\n"
         "    cycle = find_cycle(graph)\n"
         "    return None if cycle is None else [thread.name for thread in cycle]",
         "        stuck = [thread.name for thread, lock in reg.waiting.items() if lock in reg.holder]\n"
         "    return stuck or None  # anyone waiting for a held lock counts as deadlocked"),
    ), loses(C_DETECT, C_QUIET), "the detector reports every thread waiting for a held lock (C8, C10)"),
    Case("detect_without_mutex", ref(
        "tracked_lock",
        (SNAPSHOT, "    # reading two dicts needs no lock\n"
                   "    graph = {thread: [reg.holder[lock]] for thread, lock in reg.waiting.items() if lock in reg.holder}\n"),
    ), loses(C_DETECT, C_QUIET), "the detector reads the records without the registry's mutex (C9, C10)"),

    # --- Part D ------------------------------------------------------------------
    Case("strict_less", ref(
        "transfer", ("second.lock:\n        if src.balance < amount:\n", "second.lock:\n        if src.balance <= amount:\n"),
    ), loses(D_MOVES), "paying exactly the whole balance is refused (D1)"),
    Case("refuse_after_change", ref(
        "transfer",
        ("second.lock:\n        if src.balance < amount:\n" + REFUSE + "        src.balance -= amount\n",
         "second.lock:\n        src.balance -= amount\n        if src.balance < 0:\n"
         "            src.balance += amount  # put it back\n" + REFUSE),
    ), loses(D_MOVES), "the money is taken out first and put back on a refusal (D2)"),
    Case("lock_leak_on_refusal", wrong("transfer", "lock_leak_on_refusal"), loses(D_MOVES),
         "a refused transfer leaves both locks held (D3)"),
    Case("same_account_hangs", ref(
        "transfer",
        ("    if src is dst:  # one account, one lock: taking it twice would wait forever\n"
         "        with src.lock:\n"
         "            if src.balance < amount:\n"
         "                raise ValueError(f\"{src.name} has {src.balance}, cannot pay {amount}\")\n"
         "        return\n", ""),
    ), loses(D_SAME), "ordered locks, but transfer(a, a, x) takes a's lock twice (D4)"),
    Case("same_account_no_check", ref(
        "transfer",
        ("        with src.lock:\n"
         "            if src.balance < amount:\n"
         "                raise ValueError(f\"{src.name} has {src.balance}, cannot pay {amount}\")\n"
         "        return\n", "        return  # nothing moves\n"),
    ), loses(D_SAME), "transfer(a, a, x) returns without checking the funds (D4)"),
    Case("check_outside_lock", ref(
        "transfer",
        ("    first, second = sorted((src, dst), key=lambda account: account.number)  # one global order\n"
         "    with first.lock, second.lock:\n"
         "        if src.balance < amount:\n"
         "            raise ValueError(f\"{src.name} has {src.balance}, cannot pay {amount}\")\n",
         "    if src.balance < amount:  # checked before locking: check-then-act\n"
         "        raise ValueError(f\"{src.name} has {src.balance}, cannot pay {amount}\")\n"
         "    first, second = sorted((src, dst), key=lambda account: account.number)\n"
         "    with first.lock, second.lock:\n"),
    ), loses(D_ATOMIC), "the funds are checked before the locks are taken: overdrafts (D5)"),
    Case("one_lock_at_a_time", wrong("transfer", "one_lock_at_a_time"), loses(D_ATOMIC),
         "one lock at a time: the money is in neither account in between (D5)"),
    Case("only_src_locked", ref(
        "transfer",
        ("    first, second = sorted((src, dst), key=lambda account: account.number)  # one global order\n"
         "    with first.lock, second.lock:\n",
         "    with src.lock:  # dst only receives: no need for its lock\n"),
    ), loses(D_ATOMIC), "only the paying account is locked: updates of dst are lost (D5)"),
    Case("argument_order", ref(
        "transfer",
        ("    first, second = sorted((src, dst), key=lambda account: account.number)  # one global order\n"
         "    with first.lock, second.lock:",
         "    with src.lock, dst.lock:  # the order the caller happened to choose"),
    ), loses(D_DEADLOCK), "locks taken in argument order: a -> b and b -> a deadlock (D6)"),

    # --- Part E ------------------------------------------------------------------
    Case("off_by_one_meals", ref("philosopher", ("    for _ in range(meals):\n", "    for _ in range(1, meals):\n")),
         loses(E_MEALS, E_DINNER, E_ONE), "each philosopher eats one meal too few (E1, E3, E4)"),
    Case("keeps_forks", wrong("philosopher", "keeps_forks"), loses(E_MEALS),
         "both forks picked up once and kept for the whole dinner (E2)"),
    Case("skips_meal", wrong("philosopher", "skips_meal"), loses(E_DINNER),
         "a philosopher who cannot get the second fork at once skips the meal (E3)"),
    Case("all_left_first", wrong("philosopher", "all_left_first"), loses(E_DINNER, E_ONE),
         "every philosopher takes the left fork first: a circular wait, and fork 0 twice at a table for one (E3, E4)"),
    Case("lone_twice", wrong("philosopher", "lone_twice"), loses(E_ONE),
         "a fork order, but at a table for one the single fork is taken twice (E4)"),
]

PARTIAL = "contention_is_deadlock"
