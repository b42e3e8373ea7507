"""ps2_deadlock: a different correct solution, and the common mistakes it must catch.

Every case is a complete submission: the reference solution cells, with the
cell(s) under test replaced (the end-to-end loop submits PARTIAL into a blank
release, so it must fill every cell).
"""
import re
from pathlib import Path

from grading import Case, mutate, read
from tools.assignments import reference_solutions

HERE = Path(__file__).parent
REF = reference_solutions("ps2_deadlock")


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


ALT = cells_of(HERE / "alternative.py")

CASES = [
    Case("alternative", submission(**ALT), frozenset(),
         "Events, Kahn's algorithm, a Condition-based lock, try-lock transfers, a footman: must earn full marks"),
    Case("sleepy_deadlock", submission(build_deadlock=read(HERE / "wrong_sleepy_deadlock.py")),
         frozenset({"test_part_a"}), "the deadlock relies on time.sleep instead of a Barrier or Events"),
    Case("recursive_find_cycle", submission(find_cycle=read(HERE / "wrong_recursive_find_cycle.py")),
         frozenset({"test_part_b"}), "a recursive depth-first search: RecursionError on a long chain"),
    Case("no_self_loops", ref(
        "find_cycle",
        ("            for nxt in todo[-1]:\n",
         "            for nxt in todo[-1]:\n                if nxt == path[-1]:\n                    continue  # skip x -> x\n"),
    ), frozenset({"test_part_b", "test_part_c"}),
        "the cycle finder skips self-loops, so a lock taken twice goes unnoticed"),
    Case("two_cycles_only", submission(find_cycle=read(HERE / "wrong_two_cycles_only.py")),
         frozenset({"test_part_b", "test_part_c"}), "only cycles of one or two nodes are found"),
    Case("contention_is_deadlock", ref(
        "tracked_lock",
        ("        graph = {thread: [reg.holder[lock]] for thread, lock in reg.waiting.items() if lock in reg.holder}\n"
         "    cycle = find_cycle(graph)\n"
         "    return None if cycle is None else [thread.name for thread in cycle]",
         "        stuck = [thread.name for thread, lock in reg.waiting.items() if lock in reg.holder]\n"
         "    return stuck or None  # anyone waiting for a held lock counts as deadlocked"),
    ), frozenset({"test_part_c"}), "the detector reports every thread waiting for a held lock"),
    Case("stale_waiting_record", ref(
        "tracked_lock",
        ("                if blocking:\n                    del reg.waiting[me]\n                if got:\n"
         "                    reg.holder[self] = me",
         "                if got:\n                    reg.waiting.pop(me, None)\n"
         "                    reg.holder[self] = me"),
    ), frozenset({"test_part_c"}), "a timed-out acquire leaves its waiting record behind: false alarms"),
    Case("release_by_anyone", ref(
        "tracked_lock",
        ("            if reg.holder.get(self) is not me:\n"
         "                raise RuntimeError(f\"{me.name} cannot release {self.name}: it does not hold it\")\n"
         "            del reg.holder[self]",
         "            reg.holder.pop(self, None)"),
    ), frozenset({"test_part_c"}), "any thread may release a TrackedLock, as with threading.Lock"),
    Case("argument_order", ref(
        "transfer",
        ("    first, second = sorted((src, dst), key=lambda account: account.number)  # one global order\n"
         "    with first.lock, second.lock:",
         "    with src.lock, dst.lock:  # the order the caller happened to choose"),
    ), frozenset({"test_part_d"}), "locks taken in argument order: a -> b and b -> a deadlock"),
    Case("same_account_hangs", ref(
        "transfer",
        ("    if src is dst:  # one account, one lock: taking it twice would wait forever\n"
         "        with src.lock:\n"
         "            if src.balance < amount:\n"
         "                raise ValueError(f\"{src.name} has {src.balance}, cannot pay {amount}\")\n"
         "        return\n", ""),
    ), frozenset({"test_part_d"}), "ordered locks, but transfer(a, a, x) takes a's lock twice"),
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
    ), frozenset({"test_part_d"}), "the funds are checked before the locks are taken: overdrafts"),
    Case("all_left_first", ref(
        "philosopher",
        ("    first, second = sorted((table.left(i), table.right(i)))  # the lower-numbered fork first",
         "    first, second = table.left(i), table.right(i)  # everyone: left fork, then right"),
    ), frozenset({"test_part_e"}), "every philosopher takes the left fork first: a circular wait"),
]

PARTIAL = "contention_is_deadlock"
