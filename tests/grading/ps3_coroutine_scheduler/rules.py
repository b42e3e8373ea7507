"""ps3_coroutine_scheduler: the rules its release text states, the test cells that check them,
and the mistakes (in __init__.py) that prove each check bites."""
from grading import Rule

from . import (A, A_RESULT, A_RUN, A_SPAWN, B, B_ANYWHERE, B_BAD, B_JOIN_ERRORS, B_KILL, B_KILLED, C, C_BUSY,
               C_EARLY, C_IDLE, C_OVERLAP, C_TIES, D, D_BUSY, D_ERRORS, D_IDLE, D_KILL, D_SLEEP, E, E_BASE,
               E_FAILED, F, F_KILL)


RULES = [
    Rule('A1', (
              "`spawn(coro)` takes a generator object or a coroutine object and returns the new task's id: an "
              '`int` that this scheduler has not given out before, not even to a task that has finished. '
              'Anything else (a function, a number, `None`) raises `TypeError` at once, and nothing is spawned.'),
         (A_SPAWN,),
         '200 spawns give distinct ints, ids after a second run() are new; spawn(42), a generator '
         'function, a list, None and a send-only object raise TypeError',
         ('spawn_accepts_anything',)),
    Rule('A2', (
              '`run()` resumes ready tasks first in, first out: they start in the order they were spawned, and '
              'a task that gives the turn away with a bare `yield` goes to the back of the queue, so two such '
              'tasks interleave exactly `A0 B0 A1 B1 ...`.'),
         (A,),
         'bare-yield tickers of 3, 1 and 2 steps and five tasks interleave exactly first in, first out',
         ('lifo_ready_queue', 'spawn_order_reversed')),
    Rule('A3', (
              '`run()` returns once every task has finished, at once if there is none. After it returns you may'
              ' spawn more tasks and call `run()` again; the tasks of earlier runs keep their results.'),
         (A_RUN,),
         'run() with no task returns; a second and a third run() run the new tasks and keep the first '
         "run's results",
         ('forgets_earlier_runs',)),
    Rule('A4', (
              "`result(tid)` returns a finished task's return value. For a task that has not finished (not "
              'started yet, or still running: a task may call it) it raises `RuntimeError`; for a tid that this'
              ' scheduler never gave out, `KeyError`.'),
         (A_RESULT,),
         'result() of a finished task, of one not started, of a running task (asked by itself) and of an '
         'unknown tid',
         ('result_of_unfinished_is_none',)),
    Rule('B1', (
              "`GetTid()` answers the caller's own tid. `Spawn(coro)` starts `coro` as a new task, as `spawn` "
              'does, and answers its tid.'),
         (B,),
         "the parent's GetTid and Spawn answers, three children asking their own tids",
         ('spawn_answers_none',)),
    Rule('B2', (
              '`Join(tid)` waits until task `tid` has finished and answers its return value, at once if it has '
              'already finished. Any number of tasks may join the same task: each gets the value.'),
         (B,),
         'Join answers 40, 50 on an already finished child, 70 to three joiners, and values through a '
         'chain of joins',
         ('join_returns_none', 'one_joiner_only')),
    Rule('B3', (
              'If task `tid` failed, `Join(tid)` raises its exception (the same object) in the joiner instead, '
              'whether the task failed before or after the `Join`.'),
         (B_JOIN_ERRORS,),
         "the joiner catches the child's own exception object, before and after the child failed",
         ('join_error_as_value',)),
    Rule('B4', (
              '`Join` on a tid that this scheduler never gave out raises `KeyError` in the caller. A `Join` '
              'that would wait for itself raises `RuntimeError` in the caller, at once: `Join` on its own tid, '
              'or a `Join` that closes a cycle (A asks for `Join(B)` while B waits in `Join(A)`; or longer, A '
              '-> B -> C -> A).'),
         (B_JOIN_ERRORS,),
         'Join on an unknown tid raises KeyError, on itself RuntimeError; the Join closing cycles of 2 and'
         ' 3 raises RuntimeError, a chain that is no cycle does not',
         ('join_unknown_answers_none', 'join_cycle_undetected')),
    Rule('B5', (
              '`Kill(tid)` ends task `tid` before the killer resumes: the scheduler raises an exception in it '
              'at the `yield` where it is paused (`close()` raises `GeneratorExit`; `throw(Cancelled(...))` is '
              'fine too), so its `finally` blocks have run by the time the killer goes on. The killer receives '
              '`None`.'),
         (B_KILL,),
         "the killer's log when it goes on already holds the victim's finally (nested generators and with "
         'blocks too, a sleeping victim); Kill answers None',
         ('kill_skips_finally',)),
    Rule('B6', (
              'A killed task counts as killed, not as failed: `result(tid)` raises `Cancelled`; `Join(tid)` '
              'raises `Cancelled`, in the tasks that were waiting and in tasks that join it later; it never '
              'appears in `failed`. If its `finally` block raises, that exception is dropped: the task still '
              'counts as killed, and neither the killer nor `run()` sees it.'),
         (B_KILLED,),
         'waiting and later joiners get Cancelled, result() raises Cancelled, failed stays empty, also '
         "when the victim's finally raises",
         ('kill_deferred', 'join_killed_answers_none', 'killed_in_failed', 'kill_finally_error_escapes')),
    Rule('B7', (
              'A task cannot refuse to die: if it catches the exception (`except Exception`, even `except '
              'BaseException`) and yields again, it is still killed and never runs again. `Kill` works wherever'
              ' the task is: ready to run, not started yet, sleeping, or waiting in `Join`; a killed sleeper '
              'does not keep `run()` waiting.'),
         (B_ANYWHERE,),
         'victims catching Exception or BaseException never run again; a task killed before it started, '
         'one waiting in Join and a 30 s sleeper never run again and run() returns at once',
         ('kill_by_throw_lives_on', 'kill_deferred')),
    Rule('B8', (
              '`Kill` of a task that has already finished, or of a tid that this scheduler never gave out, does'
              ' nothing (the finished task keeps its result). A task may kill itself: it ends at that `yield` '
              '(the code after it does not run) and counts as killed.'),
         (B_ANYWHERE,),
         'Kill of a finished task and of an unknown tid answer None and change nothing; a task that kills '
         'itself stops there and its joiner gets Cancelled',
         ('kill_unknown_raises', 'self_kill_resumes')),
    Rule('B9', (
              'A task that yields anything other than `None` or a request from `syscalls.py`, `Spawn(x)` where '
              '`x` is not a generator or coroutine object, or `Sleep(s)` where `s` is not a number, gets '
              '`TypeError` raised at that `yield`. It may catch it and go on; if it does not, it fails like any'
              ' task that raises (E1).'),
         (B_BAD,),
         "yielding 42, a string, a class, a list, Spawn(42), Spawn(a function), Sleep('1') and Sleep(None)"
         ' raise TypeError at the yield; an uncaught one fails the task only',
         ('unknown_request_ignored', 'unknown_request_crashes', 'spawn_accepts_anything')),
    Rule('C1', (
              '`Sleep(seconds)` resumes the caller (with `None`) no sooner than `seconds` after it asked: from '
              'just before its `yield` to the moment it runs again, `time.monotonic()` advances by at least '
              '`seconds` (the tests allow 1 ms for rounding). `Sleep(0)` and negative times are allowed and do '
              'not block: the task is ready again at once.'),
         (C_EARLY,),
         'random sleep schedules (hypothesis) and close deadlines next to a busy task: no wake-up more '
         'than 1 ms early; Sleep(0) and Sleep(-1) return',
         ('wakes_early_20ms', 'sleeps_add_up')),
    Rule('C2', (
              'Sleepers wake in the order of their deadlines (the time they asked, plus `seconds`), also when '
              'several deadlines have passed while other tasks ran.'),
         (C,),
         'wake order fast, middle, slow; deadlines that all passed during a busy task; pairs of random '
         'schedules whose deadline order is certain',
         ('wake_in_insertion_order', 'lifo_ready_queue', 'sleeps_add_up')),
    Rule('C3', (
              'Equal deadlines wake in the order the tasks asked, first in, first out. They happen: the clock '
              'ticks in steps (the `resolution` printed by the setup cell), and the tests make it tick in 0.1 s'
              ' steps on purpose.'),
         (C_TIES,),
         'on a clock ticking every 0.1 s, three and six tasks asking in reverse tid order wake in the '
         'order they asked',
         ('ties_out_of_order', 'lifo_ready_queue')),
    Rule('C4', (
              'Sleeps overlap: while tasks sleep, the others run. Five tasks that each sleep 0.4 s take about '
              '0.4 s in all, not 2 s (the tests allow 1.2 s).'),
         (C_OVERLAP,),
         'five 0.4 s sleeps end within 1.2 s; with a busy task that keeps running meanwhile',
         ('sleeps_add_up',)),
    Rule('C5', (
              'A sleeper wakes on time even while other tasks keep running and never leave the ready queue '
              'empty: look at the deadlines at least once per round of the ready queue (the tests allow a '
              'sleeper to wake 0.5 s late).'),
         (C_BUSY,),
         'sleepers next to tasks that yield until they woke wake less than 0.5 s late',
         ('deadlines_only_when_idle',)),
    Rule('C6', (
              'When no task is ready, `run()` blocks, in `select()` or in `time.sleep()`, until the earliest '
              'deadline (the tests allow a sleeper to wake 0.5 s late): it neither spins nor wakes up in short '
              'steps to look at the clock. The tests count your calls of `time.monotonic()`, `time.sleep()` and'
              " the selector's `select()` while three tasks sleep 0.1, 0.3 and 0.7 s: 50 calls in all is "
              'plenty; waking every 10 ms makes more than 100.'),
         (C_IDLE,),
         'at most 50 calls of time.monotonic(), time.sleep() and select() while tasks sleep 0.1, 0.3 and '
         '0.7 s and one waits in Join; none wakes 0.5 s late',
         ('busy_wait_sleep', 'sleep_polls_every_10ms')),
    Rule('D1', (
              '`ReadWait(sock)` and `WriteWait(sock)` park the caller until `sock` can be read, or written, '
              'without blocking, and not a moment earlier: the resumed task reads or writes at once (a '
              '`BlockingIOError` there means it was resumed too soon). An echo server task and 50 client tasks '
              'on loopback all get their echo, and `run()` returns when they end.'),
         (D,),
         'an echo server and 5, then 50 clients (two with 300 kB and 1 MB messages) all get their echo',
         ('idle_io_task',)),
    Rule('D2', (
              'A task whose socket is ready is resumed even while other tasks keep running: while the ready '
              'queue is not empty, look at the sockets without blocking (`select(0)`) at least once per round '
              '(the tests allow 0.5 s).'),
         (D_BUSY,),
         'readers whose data has arrived, next to tasks that yield until they read, wait less than 0.5 s',
         ('io_checked_when_idle_only', 'deadlines_only_when_idle')),
    Rule('D3', (
              'While tasks wait for sockets, sleepers still wake on time: `select()` waits at most until the '
              'earliest deadline (the tests allow a sleeper to wake 0.5 s late).'),
         (D_SLEEP,),
         'sleepers next to readers wake less than 0.5 s late (a thread sends the data after 2 s if they do'
         ' not)',
         ('select_ignores_deadlines', 'sleeps_add_up')),
    Rule('D4', (
              'When every task waits for a socket and none sleeps, `run()` blocks in `select()` with no timeout'
              ' until a socket is ready: no spinning, no polling. The tests count calls as in C6 while two '
              'tasks wait 0.3 s for their sockets: 20 calls in all is plenty; polling every 10 ms makes 30 or '
              'more.'),
         (D_IDLE,),
         'at most 20 counted calls while a reader and a writer wait 0.3 s for data sent by another thread',
         ('io_polls_every_10ms',)),
    Rule('D5', (
              'A killed task stops waiting for its socket: the scheduler unregisters it, so another task can '
              'wait for the same socket, and the killed task never runs again.'),
         (D_KILL,),
         'after killing a reader (a writer) another task waits for the same socket and gets it; the killed'
         ' one never runs',
         ('kill_keeps_watch',)),
    Rule('D6', (
              '`ReadWait`/`WriteWait` on something that cannot be watched (a closed socket, an object with no '
              "`fileno()`, a regular file) raise in the caller the error that the selector's `register()` raised "
              '(`ValueError` for the first two; on Linux, `PermissionError` for a regular file), and `run()` goes '
              'on. You may assume that at most one task waits for a given socket at a time.'),
         (D_ERRORS,),
         'ReadWait on a closed socket and WriteWait on object() raise ValueError in the task, ReadWait on a '
         'regular file PermissionError (Linux), and the task goes on; an uncaught one fails the task only',
         ('bad_socket_crashes_run',)),
    Rule('E1', (
              'A task that raises an `Exception` (any subclass: `Cancelled` raised by the task itself too) has '
              'failed: the exception does not leave `run()`, the other tasks run on to their end, and '
              '`result(tid)` raises that exception (the same object).'),
         (E,),
         "the others run on; result() raises each task's own exception object: before the first yield, "
         'after a sleep, twenty tasks, a task raising Cancelled',
         ('exception_kills_scheduler', 'result_wraps_exception', 'raised_cancelled_counts_as_killed')),
    Rule('E2', (
              '`failed` is a dict `{tid: exception}` of the failed tasks that nobody joined. It starts empty; a'
              ' failure leaves it when a task joins the failed task, before or after it failed; killed tasks '
              'are never in it (B6).'),
         (E_FAILED,),
         'failed starts empty; holds exactly the unjoined failures (joined before or after they happened '
         'are not), a task that let Cancelled from Join escape included',
         ('joined_failures_stay_in_failed', 'raised_cancelled_counts_as_killed')),
    Rule('E3', (
              "Only an `Exception` is a task's failure: a `KeyboardInterrupt`, `SystemExit` or other "
              '`BaseException` raised in a task leaves `run()`. (The grader stops a test that runs too long by '
              "raising one in it: don't catch them.)"),
         (E_BASE,),
         "KeyboardInterrupt, SystemExit and a BaseException of the tests' own raised in a task leave "
         'run(), the same object',
         ('catches_base_exception',)),
    Rule('F1', (
              '`spawn` and `Spawn` take `async def` coroutine objects too: they await the same requests and get'
              ' the same answers as generator tasks, in one ready queue with them; awaiting a `types.coroutine`'
              ' generator that yields `None` gives the turn away like a bare `yield`; requests made inside '
              "sub-coroutines (`yield from sub()`, `await sub()`) are answered as the task's own."),
         (F,),
         'async parent and child await GetTid, Spawn, Sleep and Join next to a generator task; mixed '
         'tickers run in the same order as generators alone; requests from yield from and await '
         'sub-coroutines',
         ('next_instead_of_send', 'coroutines_rejected')),
    Rule('F2', (
              '`Kill`, `result` and failures work on coroutine tasks as on generator tasks: a killed '
              "coroutine's `finally` blocks run before the killer goes on (even while someone still holds a "
              'reference to the coroutine object), and it counts as killed.'),
         (F_KILL,),
         "a killed coroutine's finally runs before the killer goes on, also while the test holds the "
         'coroutine; result() raises Cancelled; a failed coroutine is in failed',
         ('kill_uses_generator_state', 'kill_skips_finally', 'killed_in_failed')),
]


_KINDS = ("a task's outcome kind is one of three string constants, 'value', 'error' and 'killed': "
          "CPython interns them, so `is` compares as `==` does")
_ORDER = ("the three outcome kinds compare 'error' < 'killed' < 'value', so on them this comparison "
          "is true exactly when the original one is")

EQUIVALENT_MUTANTS = {
    "scheduler_solution|except (KeyError, ValueError, OSError) as exc:   # already watched, closed, not a socket|core/ExceptionReplacer|0":
        "KeyError comes from register() only for a socket another task already waits for, which D6 lets you assume never happens",
    "scheduler_solution|self._ids = itertools.count(1)|core/NumberReplacer|0":
        "task ids start at 2 instead of 1: they are still distinct ints, which is all A1 asks",
    "scheduler_solution|self._ids = itertools.count(1)|core/NumberReplacer|1":
        "task ids start at 0 instead of 1: they are still distinct ints, which is all A1 asks",
    'scheduler_solution|if kind == "killed":|core/ReplaceComparisonOperator_Eq_Is|0': _KINDS,
    'scheduler_solution|if kind == "error":|core/ReplaceComparisonOperator_Eq_Is|0': _KINDS,
    'scheduler_solution|if kind == "error":|core/ReplaceComparisonOperator_Eq_LtE|0':
        _ORDER + " (after the 'killed' case has returned, kind <= 'error' means kind == 'error')",
    'scheduler_solution|if kind == "error" and not task.joiners:|core/ReplaceComparisonOperator_Eq_Is|0': _KINDS,
    'scheduler_solution|if kind == "error" and not task.joiners:|core/ReplaceComparisonOperator_Eq_LtE|0':
        _ORDER + " (kind <= 'error' only for 'error')",
    'scheduler_solution|if kind == "value":|core/ReplaceComparisonOperator_Eq_GtE|0':
        _ORDER + " (kind >= 'value' only for 'value')",
    'scheduler_solution|if kind == "value":|core/ReplaceComparisonOperator_Eq_Is|0': _KINDS,
    'scheduler_solution|self._schedule(joiner, error=Cancelled(f"task {task.tid} was killed") if kind == "killed" '
    'else value)|core/ReplaceComparisonOperator_Eq_GtE|0':
        _ORDER + " (this branch sees 'error' or 'killed' only, and kind >= 'killed' only for 'killed')",
    'scheduler_solution|self._schedule(joiner, error=Cancelled(f"task {task.tid} was killed") if kind == "killed" '
    'else value)|core/ReplaceComparisonOperator_Eq_Is|0': _KINDS,
    "scheduler_solution|continue|core/ReplaceContinueWithBreak|0":
        "after a task returns, break ends the round early: the tasks still ready run in the next round, "
        "in the same order; only deadlines and sockets are looked at once more in between, which no rule forbids",
    "scheduler_solution|continue|core/ReplaceContinueWithBreak|1":
        "after a task fails, break ends the round early: the tasks still ready run in the next round, "
        "in the same order; only deadlines and sockets are looked at once more in between, which no rule forbids",
    "scheduler_solution|while self._sleeping and self._sleeping[0][0] <= now:|core/ReplaceComparisonOperator_LtE_Lt|0":
        "a sleeper whose deadline equals the clock's reading exactly wakes at the clock's next tick instead: "
        "never early (C1), at most one tick late (C5 and C6 allow 0.5 s)",
    "scheduler_solution|if task is other:|core/ReplaceComparisonOperator_Is_Eq|0":
        "Task defines no __eq__, so == compares identity, as `is` does",
}
