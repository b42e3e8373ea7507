"""The rules of ps2_deadlock: each rule the release text labels, the test cells that check it,
how, and the mistakes in CASES that prove the check bites (see tests/grading/__init__.py).

The texts are the release text's own words (markdown aside).  A rule's mistakes each lose at
least the rule's cells; a mistake that breaks several rules is named by each of them.
"""
from grading import Rule
from grading.ps2_deadlock import (
    A_DEADLOCK, A_EVERY_TIME, B_ACYCLIC, B_CYCLES, B_INPUT, B_LARGE, C_DETECT, C_LOCK, C_QUIET, C_RECORDS,
    D_ATOMIC, D_DEADLOCK, D_MOVES, D_SAME, E_DINNER, E_MEALS, E_ONE,
)

RULES = [
    Rule("A1",
         "Make the two locks with threading.Lock() inside build_deadlock(), a new pair on every call (a "
         "lock made anywhere else, or an RLock, is not a WatchedLock during the tests).",
         (A_DEADLOCK, A_EVERY_TIME),
         "the locks must be WatchedLocks made by threading.Lock() during the call (watching_locks), and 20 calls make 40 distinct locks",
         ('module_level_locks',)),
    Rule("A2",
         "Start two daemon threads. (Python waits for its non-daemon threads at exit; a deadlocked "
         "non-daemon thread would keep the kernel from ever shutting down.)",
         (A_DEADLOCK,),
         "t.daemon of both threads, made as if by the main thread (watching_locks makes Thread() non-daemon by default)",
         ('non_daemon',)),
    Rule("A3",
         "Each thread ends up holding one of the two locks and waiting, without a timeout, for the other, "
         "and stays so: the tests wait up to 5 s for that state, then check that it lasts.",
         (A_DEADLOCK, A_EVERY_TIME),
         "deadlocked_pair: each thread holds one WatchedLock and waits for the other with no timeout, and it lasts",
         ('timed_wait',)),
    Rule("A4",
         "Return (t1, t2, lock_a, lock_b) at once (the tests wait at most 5 s): don't join the threads, "
         "they never finish.",
         (A_DEADLOCK, A_EVERY_TIME),
         "build_deadlock() runs under gradelib.bounded(within=5) and returns a 4-tuple of two Threads and two locks",
         ('joins_threads',)),
    Rule("A5",
         "It deadlocks every time, however the threads happen to be scheduled: use a schedule (a Barrier "
         "or Events), not a nap. The hidden tests build twenty deadlocks with time.sleep made instant.",
         (A_EVERY_TIME,),
         "twenty calls with time.sleep (and a `from time import sleep`) made instant must each deadlock",
         ('sleepy_deadlock',)),
    Rule("B1",
         "graph is any read-only mapping from each node to its successors (a dict, a "
         "types.MappingProxyType, or another collections.abc.Mapping: use only graph[node], "
         "graph.get(node, ()), in, len, iteration, keys() and items()); the successors are a list, set or "
         "tuple of nodes; nodes are hashable. A node that appears only as a successor has no successors. "
         "Don't change graph or its successor collections, not even for a moment.",
         (B_INPUT,),
         "graphs of lists, tuples and sets with nodes that are only successors; a MappingProxyType and a bare Mapping; successor lists that note any change; hypothesis on random read-only graphs; the graph compared before and after",
         ('removes_finished_nodes',)),
    Rule("B2",
         "If the graph has a cycle, return one as a list [n0, n1, ..., nk], no node twice, such that n0 → "
         "n1, ..., nk → n0 are all edges: any cycle if there are several; [x] for a self-loop x → x.",
         (B_CYCLES,),
         "the answer is checked edge by edge against a private copy: 2- and 3-cycles, self-loops, cycles behind tails and beside diamonds, and hypothesis on random graphs with a planted cycle",
         ('no_self_loops', 'two_cycles_only', 'seen_is_cycle')),
    Rule("B3",
         "If the graph has no cycle, return None.",
         (B_ACYCLIC,),
         "None for the empty graph, chains, diamonds listed in any order, a ladder, and hypothesis on random DAGs",
         ('seen_is_cycle',)),
    Rule("B4",
         "No recursion, and leave the recursion limit as it is: the tests use chains and rings much deeper "
         "than 1 000 nodes.",
         (B_LARGE,),
         "100 000-node chains with the recursion limit set to 1 000 and sys.setrecursionlimit patched to refuse; a RecursionError fails B4",
         ('recursive_find_cycle',)),
    Rule("B5",
         "Time linear in the size of the graph (nodes plus edges): explore each node once. The hidden "
         "tests time chains of 100 000 nodes (listed from either end), a ring and a star of 50 000 nodes, "
         "and stacks of up to 40 diamonds (their nodes listed in any order): each gets 5 s (the reference "
         "solution needs about 0.2 s for the largest).",
         (B_LARGE,),
         "each large graph gets 5 s (chains of 100 000 listed from either end, a ring and a star of 50 000, 40 stacked diamonds listed top or bottom first, hypothesis stacks of 20-40 diamonds with extra edges in random key orders); the graph stops the search once its time is up",
         ('forgets_finished',)),
    Rule("C1",
         "TrackedLock(name=None) keeps name in self.name (for messages; it makes one up if name is None) "
         "and behaves like a threading.Lock: acquire() waits until it gets the lock and returns True; "
         "acquire(blocking=False) returns at once, True if it got the lock, else False; acquire(timeout=t) "
         "returns True as soon as it gets the lock, or False once t seconds have passed (not before; the "
         "tests allow 1 s more); release() lets it go, and one of the waiting threads (if any) gets it; "
         "locked() says whether some thread holds it; with lock: holds it for the block. At most one "
         "thread holds it at any moment.",
         (C_LOCK,),
         "self.name of a named and an unnamed lock; return values of acquire() / acquire(blocking=False) / acquire(timeout=t) (timed, 0.9 t to t + 1 s), locked(), with, hand-off to a waiting thread, four threads counting under gradelib.switching()",
         ('acquire_returns_none',)),
    Rule("C2",
         "It is not reentrant: an acquire by the thread that holds it waits (forever, or until its "
         "timeout; acquire(blocking=False) returns False).",
         (C_LOCK,),
         "acquire(blocking=False) and acquire(timeout=0.2) by the holder return False; a blocking acquire by the holder is still waiting 0.3 s later",
         ('rlock_inside',)),
    Rule("C3",
         "release() by a thread that does not hold the lock raises RuntimeError and changes nothing (the "
         "lock stays held, the records stay as they were), as threading.RLock does. (A plain "
         "threading.Lock lets any thread release it.)",
         (C_LOCK,),
         "release() from another thread (gradelib.raises) raises RuntimeError, the lock stays locked and the records unchanged",
         ('release_by_anyone',)),
    Rule("C4",
         "A TrackedLock keeps its records in the registry that was current when the lock was made (store "
         "registry() in __init__), whichever registry is current when it is used.",
         (C_RECORDS,),
         "a lock made before reset_registry() records its holder and waiter in the old registry and nothing in the new one",
         ('registry_per_call',)),
    Rule("C5",
         "It changes the records only while holding that registry's mutex.",
         (C_RECORDS,),
         "the test holds registry().mutex (a WatchedLock) while a thread acquires and releases: the records must not change until it lets go",
         ('records_without_mutex',)),
    Rule("C6",
         "holder[lock] = thread from just after the thread gets the lock until just before it lets go, so "
         "that a recorded holder really holds the lock. (The simplest way: remove the record and do the "
         "real release while you hold the mutex.)",
         (C_RECORDS,),
         "holder records checked at every switch point of four threads (inner locks made WatchedLocks): a recorded holder is the inner lock's holder; the inner lock is still held while a release waits for the mutex",
         ('release_before_record',)),
    Rule("C7",
         "waiting[thread] = lock while the thread is inside a blocking acquire (blocking=True, with or "
         "without a timeout): recorded before it blocks, removed before acquire returns, whether it got "
         "the lock or timed out. acquire(blocking=False) never waits and never records a wait, not even "
         "for a moment.",
         (C_RECORDS,),
         "waits with and without a timeout are recorded while blocked; a timed-out acquire leaves no record; acquire(blocking=False) on a held lock shows no record at any switch point",
         ('stale_waiting_record', 'nonblocking_records_wait')),
    Rule("C8",
         "detect_deadlock() returns the names (thread.name) of the threads on a cycle of the wait-for "
         "graph of the current registry, in cycle order: the first waits for a lock the second holds, and "
         "so on, and the last waits for a lock the first holds (any rotation will do); only the threads on "
         "the cycle, not those that merely wait for one of them; None if there is no cycle. A thread that "
         "waits with a timeout counts: it is deadlocked until its timeout ends. A thread that takes a lock "
         "it holds is a cycle of one.",
         (C_DETECT,),
         "2- and 3-thread deadlocks in cycle order (any rotation), a lock taken twice, a timed wait in the cycle, a bystander left out (waiting before and after the deadlock forms), None when nobody waits",
         ('contention_is_deadlock', 'no_self_loops', 'two_cycles_only', 'rlock_inside', 'seen_is_cycle')),
    Rule("C9",
         "It reads the records of the registry current when it is called, in one go, while holding the "
         "registry's mutex (a consistent snapshot).",
         (C_DETECT,),
         "detect_deadlock() started while the test holds the mutex must wait for it; after reset_registry() it sees only the new registry's deadlock",
         ('detect_without_mutex',)),
    Rule("C10",
         "No false alarms: it never reports a cycle that does not exist, at any moment, however the "
         "threads interleave: not for threads that queue for a lock, nor for a chain of waits that ends in "
         "a thread doing something else, nor for a thread whose acquire(timeout=...) gave up, nor for one "
         "that tries acquire(blocking=False). The hidden tests call detect_deadlock() at every switch "
         "point (some ten thousand calls, 30 s for all of them) while eight threads hammer your locks with "
         "the switch interval at its minimum.",
         (C_QUIET,),
         "queues, a chain ending in an Event, a timed-out acquire and a failed try-lock give None, with detect_deadlock() run at every switch point; the records and the detector wait for a held mutex; 8 threads in one lock order under gradelib.switching() with a detector at every switch point and in a loop",
         ('contention_is_deadlock', 'stale_waiting_record', 'nonblocking_records_wait', 'records_without_mutex', 'detect_without_mutex', 'seen_is_cycle')),
    Rule("D1",
         "transfer(src, dst, amount) with amount > 0 (the tests pass nothing else) moves amount from src "
         "to dst: src.balance goes down by amount, dst.balance up by amount. Paying the whole balance is "
         "allowed.",
         (D_MOVES,),
         "balances after transfer(a, b, 30), paying exactly the whole balance, transfer(f, e, 40)",
         ('strict_less',)),
    Rule("D2",
         "If src.balance < amount, it raises ValueError and changes nothing: no balance changes, not even "
         "for a moment.",
         (D_MOVES,),
         "refusals by one unit, from empty accounts, between equal accounts: ValueError (gradelib.raises), balances and their lowest value unchanged",
         ('refuse_after_change',)),
    Rule("D3",
         "When it returns or raises, it holds no lock.",
         (D_MOVES,),
         "every account's lock is free after each transfer and each refusal",
         ('lock_leak_on_refusal',)),
    Rule("D4",
         "transfer(a, a, x) returns at once (it must not wait for itself) and moves nothing, or raises "
         "ValueError if x > a.balance, like any other transfer.",
         (D_SAME,),
         "transfer(a, a, x) under gradelib.bounded: balance unchanged, ValueError for x > a.balance and on an empty account, lock free",
         ('same_account_hangs', 'same_account_no_check')),
    Rule("D5",
         "It holds both accounts' locks from the funds check until the money has moved, and changes a "
         "balance only while holding that account's lock: so two transfers never spend the same money (no "
         "balance ever goes below 0), no update is lost, and a thread that takes the two locks never sees "
         "the money in both accounts or in neither. The hidden tests stop two threads just before their "
         "first lock until both have arrived, watch the balances at every switch point of a transfer, and "
         "run eight threads doing 500 transfers each among five accounts.",
         (D_ATOMIC,),
         "two transfers of 50 from 60 with a StrictHost(at='acquire'): one paid, one refused; the sum of two balances at every switch point where the mover holds neither lock; every balance write made by its lock's holder; 8x500 one-way transfers under gradelib.switching() give the exact balances",
         ('check_outside_lock', 'one_lock_at_a_time', 'only_src_locked')),
    Rule("D6",
         "It never deadlocks, whatever other transfers run at the same time. The hidden tests stop every "
         "thread holding its first lock until every thread holds a lock or waits for one, with transfers "
         "both ways between two accounts and around a ring of three; each run gets 10 s.",
         (D_DEADLOCK,),
         "transfers both ways, around a ring of three and among five accounts, with a StrictHost(at='acquired') on the accounts' locks, must all finish within 10 s",
         ('argument_order',)),
    Rule("E1",
         "philosopher(table, i, meals) makes philosopher i eat exactly meals times (meals ≥ 0): each meal "
         "is one call of table.eat(i) while holding both of its forks, table.forks[table.left(i)] and "
         "table.forks[table.right(i)]; at the end it holds no fork.",
         (E_MEALS,),
         "philosophers run one at a time at tables for 2 to 6 (and for 3 visibly): meals counted, Table.eat checks both forks are held, no fork left held",
         ('off_by_one_meals',)),
    Rule("E2",
         "It puts both forks back after each meal and picks them up again for the next (a philosopher who "
         "keeps the forks for the whole dinner starves the neighbours).",
         (E_MEALS,),
         "Table(put_back=True) raises Rude when a philosopher eats again without picking both forks up since the last meal",
         ('keeps_forks',)),
    Rule("E3",
         "When all n philosophers dine at once, for any n from 2 to 10, each in its own daemon thread with "
         "the strict host, every one of them eats all meals meals: no deadlock, nobody left hungry. The "
         "tests give a dinner 5 s (the reference solution needs about 0.05 s for 10 philosophers of 40 "
         "meals each).",
         (E_DINNER,),
         "dine() for n = 2..10 with the strict host and put_back off: every philosopher eats all meals within 5 s, no fork left held",
         ('skips_meal', 'all_left_first', 'off_by_one_meals')),
    Rule("E4",
         "A table for one (n = 1) has one fork, left(0) == right(0) == 0: the lone philosopher picks it up "
         "once per meal (a second acquire of the same fork would wait forever) and eats all meals meals.",
         (E_ONE,),
         "dine(1, 3) and dine(1, 20) with the strict host, and philosopher(table, 0, 5) alone: all meals eaten within 5 s",
         ('lone_twice', 'all_left_first', 'off_by_one_meals')),
]

# The survivors of `make mutation A=ps2_deadlock` that no test can tell from the reference, and why.
EQUIVALENT_MUTANTS: dict[str, str] = {
    "tracked_lock|got = False|core/ReplaceFalseWithTrue|0":
        "`got` is assigned the real acquire's result on the next line; its first value is read only if that "
        "acquire raises (an interrupt inside threading.Lock.acquire), which no test can cause in a graded cell",
    "tracked_lock|if reg.holder.get(self) is not me:|core/ReplaceComparisonOperator_IsNot_NotEq|0":
        "threading.Thread does not define __eq__, so `!=` between threads (or a thread and None) is "
        "identity, exactly `is not`",
    "transfer|if src is dst:  # one account, one lock: taking it twice would wait forever|"
    "core/ReplaceComparisonOperator_Is_Eq|0":
        "Account does not define __eq__, so `==` between accounts is identity, exactly `is`",
}
