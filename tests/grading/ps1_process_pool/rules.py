"""ps1_process_pool: every rule the release text states, the test cells that check it,
and the mistakes (in __init__.py's CASES) that prove the check bites."""
from grading import Rule


def cells(*names: str) -> tuple:
    return tuple(f"test_part_{name}" for name in names)


RULES = [
    # --- Part A: construction -------------------------------------------------
    Rule("A1", "`ProcessPool(n)` starts `n` worker processes before `__init__` returns, and `pids` then lists "
               "them: `n` distinct pids of running processes, none of them the notebook's own.",
         cells("a_workers"),
         "pids right after ProcessPool(2) and ProcessPool() is a list of n distinct ints, not the parent's, "
         "each a running process (psutil)",
         ("lazy_workers",)),
    Rule("A2", "`processes=None` means `os.cpu_count()` workers, looked up each time `__init__` runs, not once "
               "when `pool.py` is imported (the tests replace `os.cpu_count` to check this; "
               "`multiprocessing.cpu_count()` calls it too).",
         cells("a_workers"),
         "ProcessPool() while os.cpu_count is patched to answer one more than the machine has: that many pids",
         ("default_size_at_import",)),
    Rule("A3", "`processes < 1` raises `ValueError`; so does a `start_method` that `multiprocessing` does not know.",
         cells("a_arguments"),
         "ProcessPool(0), ProcessPool(-2) and ProcessPool(1, start_method='teleport') raise ValueError",
         ("no_size_check", "start_method_ignored")),
    Rule("A4", "`start_method=None` uses `multiprocessing.get_context()`, the platform's default method; any other "
               "value uses that method.",
         cells("a_arguments"),
         "tasks.MARK changed in the parent reaches the worker exactly when the pool's method (None, spawn, fork) forks",
         ("start_method_ignored",)),
    # --- Part B: submit -------------------------------------------------------
    Rule("B1", "`submit(fn, *args, **kwargs)` returns a `concurrent.futures.Future` at once, without waiting for "
               "the task or for a free worker; the future's `result()` is `fn(*args, **kwargs)`, computed in a worker.",
         cells("b_results"),
         "the type of submit's value and 30 results; on a pool of one busy with a 0.8 s task, a second submit "
         "returns before that task is done",
         ("submit_waits_for_a_worker",)),
    Rule("B2", "Keyword arguments reach `fn`, even one named `fn` (that is why `submit`'s own `fn` is positional-only).",
         cells("b_results"),
         "submit(tasks.add, 1, b=2) and submit(tasks.echo, 1, fn='x')",
         ("fn_not_positional_only",)),
    Rule("B3", "If `fn` raises, the future's `result()` raises an exception of the same type with the same `args` "
               "(so the same message), and `exception()` returns it. Send the exception object back, not its text.",
         cells("b_results"),
         "ValueError('boom'), KeyError('k') from result(); LookupError('later') from exception(): exact type and args",
         ("exception_as_text", "swallowed_exceptions")),
    Rule("B4", "Several threads may call `submit` and `map` on one pool at the same time: every future still gets "
               "the result of its own task.",
         cells("b_threads"),
         "6 threads submitting and 3 calling map at once, each task a Baton with its own value, under "
         "forced_switches (minimal switch interval, yields in Future methods and Baton pickling)",
         ("racy_job_ids",)),
    Rule("B5", "A callback added with `future.add_done_callback(cb)` runs in the thread that sets the result, usually "
               "your pool's own thread. Such a callback may call `submit`, and that task runs like any other.",
         cells("b_threads"),
         "a chain of done-callbacks, each submitting the next task (3, then 8 under forced switches)",
         ("resolve_under_lock",)),
    Rule("B6", "What cannot be pickled fails its task, not the pool. If `fn` or an argument cannot be pickled, "
               "`submit` raises an exception or returns a future that fails. If the value `fn` returns, or the "
               "exception it raises, cannot be pickled, the future fails with an exception of your choice other "
               "than `BrokenProcessPool`: the worker lives on. Either way the pool goes on working.",
         cells("b_results"),
         "submit(tasks.square, threading.Lock()) raises or its future fails; the futures of tasks.unpicklable "
         "('value' and 'exception') fail, not with BrokenProcessPool; then tasks.whoami runs in the same worker",
         ("unpicklable_exception_kills_the_worker", "work_in_parent", "process_per_task")),
    # --- Part C: map ----------------------------------------------------------
    Rule("C1", "`map(fn, iterable)` returns the list `[fn(x) for x in iterable]`, computed by the workers, in input "
               "order whatever order the results arrive in. `iterable` may be any iterable: a generator, or an empty "
               "one (then the answer is `[]`).",
         cells("c_results"),
         "a range, a generator, []; items that finish in reverse order; random lists with random delays (hypothesis)",
         ("results_out_of_order",)),
    Rule("C2", "With `chunksize=k`, the items are cut into chunks of `k` consecutive items (the last chunk may be "
               "shorter). Each chunk travels to one worker as one message; the worker runs its items in order and "
               "sends their results back together. `chunksize < 1` raises `ValueError`.",
         cells("c_results"),
         "12 items in chunks of 4 on two idle workers: each chunk's items report one pid; a short last chunk; "
         "chunksize 0 and -1 raise ValueError; random chunk sizes (hypothesis)",
         ("chunksize_ignored",)),
    Rule("C3", "If items fail, `map` raises the exception of the first failing item in input order, even when a "
               "later item fails sooner.",
         cells("c_errors"),
         "tasks.fail_on over range(10) (7 fails at once, 3 after 0.3 s) raises KeyError(3); random failure "
         "positions, delays and chunk sizes (hypothesis) raise KeyError of the first",
         ("first_failure_by_time", "exception_as_text", "swallowed_exceptions", "results_out_of_order")),
    Rule("C4", "`timeout=t` (seconds, 0 included) bounds the whole call, not each chunk: if the results are not all "
               "in after `t` seconds, `map` raises `TimeoutError` (the built-in one; `concurrent.futures.TimeoutError` "
               "is the same class), at most 2 s after the deadline; if they are, it returns them, however long each "
               "chunk took. `timeout=None` waits as long as it takes.",
         cells("c_timeout"),
         "two 0.6 s items with timeout 0.2, sixteen 0.5 s items on 2 workers with timeout 2.5 (each chunk is "
         "shorter than the timeout), and two 0.3 s items with timeout 0: TimeoutError within t + 2 s; one 1.2 s "
         "item with timeout 5 returns its value",
         ("timeout_per_chunk",)),
    Rule("C5", "After a timeout or a failure, the chunks that `map` no longer needs may be cancelled or left to run "
               "(your choice), but the pool stays usable, and a later call returns its own results only.",
         cells("c_errors", "c_timeout"),
         "map and submit on the same pool right after each failed or timed-out map give their own results",
         ("cancelled_crash_the_manager",)),
    # --- Part D: reuse and parallelism ----------------------------------------
    Rule("D1", "Tasks run in the pool's own workers, which are reused: 20 tasks on 2 workers all run in the 2 "
               "processes listed in `pids`, never in the parent and never in a new process.",
         cells("d_reuse"),
         "the pids reported by tasks.whoami (map, submit, chunks) are among pool.pids and not the parent's",
         ("work_in_parent", "process_per_task")),
    Rule("D2", "Workers run at the same time: `n` one-second tasks on `n` idle workers (`n` ≥ 2) all finish within `0.75 * n` "
               "seconds (2 tasks: 1.5 s; 4 tasks: 3 s), each in a different one of the workers listed in `pids`.",
         cells("d_parallel"),
         "two one-second tasks on two warm workers finish within 1.5 s, in two different workers of pids",
         ("workers_take_turns", "work_in_parent", "process_per_task")),
    Rule("D3", "A queued task starts as soon as any worker is free: no worker idles while a task waits. (So don't "
               "deal tasks out to the workers in turn as they are submitted: a worker stuck on a long task would "
               "hold up the ones dealt to it.)",
         cells("d_parallel"),
         "on 3 workers, one 1.2 s task and eight 0.05 s tasks: every short task is done within 0.9 s",
         ("round_robin",)),
    # --- Part E: a worker dies ------------------------------------------------
    Rule("E1", "When a worker dies in the middle of a task, that task's future fails with "
               "`concurrent.futures.process.BrokenProcessPool` at once (the tests wait at most 10 s). No call hangs.",
         cells("e_task"),
         "tasks.die (os._exit(3)), tasks.die_hard (SIGKILL), tasks.die(0) and map(tasks.die, [0]): BrokenProcessPool "
         "within 10 s; a worker stopped (SIGSTOP) as the pool pickles the task it sends it, then killed: that "
         "future fails with BrokenProcessPool (or gets its value) within 10 s; a worker killed as the pool pickles the task "
         "it sends it, so that the sending fails: the same; shutdown() afterwards returns",
         ("hangs_on_dead_worker", "exit_zero_is_not_a_death", "failed_send_drops_the_task")),
    Rule("E2", "A dead worker leaves `pids` within 3 s: 3 s after its task's future has failed, or after its death "
               "if it died between tasks, `pids` no longer lists it.",
         cells("e_after"),
         "pool of 1: the dead worker's pid leaves pids within 3 s of its task's failure; a worker killed between "
         "tasks (os.kill) leaves pids within 3 s",
         ("pids_lists_dead_workers",)),
    Rule("E3", "After a worker dies, your pool does one of two things, your choice: replace it: start a new worker, "
               "so that `pids` lists `n` live workers again (within 5 s), `submit` and `map` go on working, and every "
               "other future, running or queued, gets its value; or break: from then on `submit` and `map` raise "
               "`BrokenProcessPool`, and every future not yet resolved fails with `BrokenProcessPool`. (A pool may take "
               "up to 3 s to notice that a worker died between tasks; a task submitted meanwhile may fail with "
               "`BrokenProcessPool` too.) Either way, `shutdown()` still works afterwards, also when a worker dies "
               "while the pool shuts down.",
         cells("e_after"),
         "after a death (in a task with six tasks queued, and between tasks in pools of 2 and 1), submit either raises "
         "BrokenProcessPool (then map must too, and every pending future fails or has its value) or works (then n "
         "live pids, map works, every queued task gets its value); three tasks submitted as the pool's thread, woken "
         "by the death of its only worker, takes a lock (forced switch) each get their value or BrokenProcessPool; "
         "shutdown() returns, and no worker runs 5 s later, also when one is killed as the pool's thread takes a "
         "lock after shutdown() was called (or 0.5 s after): an idle one, and the only worker of a pool of 1 in the middle "
         "of a task while three wait (each then gets its value or BrokenProcessPool; the three waiting are judged only if "
         "the same pool, with no death, lets queued tasks finish at shutdown: otherwise that is F1's loss alone)",
         ("replace_fails_the_queue", "forgets_idle_deaths", "broken_pool_accepts_work", "hangs_on_dead_worker",
          "dying_in_shutdown_strands_the_queue")),
    # --- Part F: shutdown, zombies and idling ---------------------------------
    Rule("F1", "`shutdown(wait=True)` (the default; leaving a `with` block calls it) first lets every submitted task "
               "finish, the queued ones too, so that each of their futures gets its value; then it stops every worker "
               "and joins it. When it returns, no worker is left, not even as a zombie, and `pids` is `[]`.",
         cells("f_shutdown"),
         "shutdown() with five tasks queued on one worker, and a with block: every future done with its value, "
         "no worker pid left (psutil, zombies included), pids == []",
         ("zombies_left", "shutdown_drops_queued_work", "pids_lists_dead_workers")),
    Rule("F2", "After `shutdown` (with either `wait`), `submit` and `map` raise `RuntimeError`.",
         cells("f_shutdown", "f_nowait"),
         "submit and map after shutdown(), and submit after shutdown(wait=False), raise RuntimeError",
         ("submit_after_shutdown",)),
    Rule("F3", "`shutdown(wait=False)` returns at once, without waiting for the tasks. They still finish and their "
               "futures get their values; then the pool stops and joins its workers by itself: 5 s after the last "
               "task has ended, no worker is left, not even as a zombie.",
         cells("f_nowait"),
         "shutdown(wait=False) returns while a 1 s task runs; the task's value arrives; 5 s later no worker pid "
         "exists (zombies included)",
         ("nowait_waits", "nowait_never_reaps", "shutdown_drops_queued_work")),
    Rule("F4", "`shutdown` may be called again, any number of times: a second call does not raise, and "
               "`shutdown(wait=True)` after `shutdown(wait=False)` waits as F1 says.",
         cells("f_nowait"),
         "second and third shutdown calls return; shutdown(wait=True) after shutdown(wait=False) with four tasks "
         "queued returns only when all are done and no worker is left",
         ("second_shutdown_raises", "second_shutdown_returns_early")),
    Rule("F5", "`shutdown` may run while other threads call `submit`: each such `submit` either raises `RuntimeError` "
               "or returns a future that gets its value. No task is lost.",
         cells("f_nowait"),
         "shutdown(wait=False) runs in another thread exactly while the pool pickles the first Baton a submitter "
         "thread sent (forced_switches hook), and just before the submitter takes its first, second or third lock "
         "(a pool made with locks=True); every future submit returned gets its value",
         ("submit_races_shutdown", "submit_waits_for_a_worker", "racy_job_ids")),
    Rule("F6", "Nothing polls. The pool's threads and its workers wait by blocking (`Connection.recv`, `Queue.get`, "
               "`multiprocessing.connection.wait`, `Event.wait`...). While the pool is idle, and while the parent waits "
               "in `result()`, the pool (its threads in the parent and its workers together) is running or ready to run "
               "less than 0.15 s per second; while idle, it wakes up at most 5 times per second.",
         cells("f_idle"),
         "CPU time over 0.5 s of idling (visible); runnable time (/proc schedstat) of the pool's threads and workers "
         "over 1 s of idling and 0.6 s of waiting for a result, and their voluntary context switches over the idling "
         "(each measured up to three times, the quietest counting)",
         ("busy_wait_results", "wakes_every_50ms", "workers_poll")),
]

# {mutant key: why no test can tell it from the reference} for `make mutation`'s survivors.
EQUIVALENT_MUTANTS = {
    "pool_solution|return self.args[0]|core/NumberReplacer|0":
        "The worker's traceback that the reference attaches as __cause__ (a RemoteTraceback) is its own extra: B3 "
        "promises the exception's type and args only, and printing a traceback survives a cause whose str() fails.",
    "pool_solution|return self.args[0]|core/NumberReplacer|1":
        "A RemoteTraceback is always made with exactly one argument, so args[-1] is args[0].",
    "pool_solution|except (EOFError, OSError):|core/ExceptionReplacer|0":
        "A worker's recv() raises EOFError only once the parent's end is closed without a stop message, that is "
        "when the notebook's process itself has gone; the worker ends then either way, and nothing is left to grade.",
    "pool_solution|except (EOFError, OSError):|core/ExceptionReplacer|1":
        "The pool never closes a live worker's pipe, so a worker's recv() raises OSError only when the notebook's "
        "process has gone with replies unread; the worker ends then either way, and nothing is left to grade.",
    "pool_solution|processes = os.cpu_count() or 1|core/NumberReplacer|0":
        "Differs only when os.cpu_count() answers None (the count is unknown), which A2 does not cover and no "
        "machine the course runs on does.",
    "pool_solution|processes = os.cpu_count() or 1|core/NumberReplacer|1":
        "Differs only when os.cpu_count() answers None (the count is unknown), which A2 does not cover and no "
        "machine the course runs on does.",
    "pool_solution|self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)|core/ReplaceFalseWithTrue|0":
        "The wake-up pipe is used one way only (submit writes, the manager thread reads), so a duplex pipe "
        "behaves the same.",
    "pool_solution|self._manager = threading.Thread(target=self._manage, name=\"ProcessPool-manager\", daemon=True)|core/ReplaceTrueWithFalse|0":
        "After shutdown (with either wait) the manager thread ends by itself; whether it is a daemon matters only "
        "for a pool never shut down when the notebook's process exits, which the text does not cover.",
    "pool_solution|if chunksize < 1:|core/NumberReplacer|1":
        "chunksize=0 still raises ValueError, from range(0, n, 0) once the iterable has been read, and negative "
        "sizes are still refused by the check; only the message differs, which C2 does not specify.",
    "pool_solution|left = None if deadline is None else max(0.0, deadline - time.monotonic())|core/NumberReplacer|1":
        "A negative timeout makes Future.result() give up at once just as 0 does (Condition.wait treats any "
        "timeout <= 0 as a check that does not block).",
    "pool_solution|except BaseException:|core/ExceptionReplacer|0":
        "The handler no longer runs, so map's error or timeout leaves the other chunks uncancelled, as a "
        "map that skips its cancelling loop does: C5 allows it.",
    "pool_solution|for future in futures:|core/ZeroIterationForLoop|1":
        "C5 lets map leave the chunks it no longer needs running instead of cancelling them, so not cancelling "
        "them is allowed.",
    "pool_solution|process = self._ctx.Process(target=worker_main, args=(child_conn,), daemon=True)|core/ReplaceTrueWithFalse|0":
        "shutdown stops and joins every worker; daemon matters only for a pool never shut down when the notebook's "
        "process exits, or for tasks that start processes of their own, neither of which the text covers.",
    "pool_solution|except OSError:|core/ExceptionReplacer|0":
        "The wake-up pipe is never closed and the pool itself holds its read end, so writing a byte to it never "
        "raises OSError.",
    "pool_solution|future.set_result(payload[0] if star else payload)|core/NumberReplacer|1":
        "A submit's payload is a list of exactly one value, so payload[-1] is payload[0].",
    "pool_solution|exc.__cause__ = RemoteTraceback(tb) if tb else None|core/AddNot|0":
        "Only the __cause__ of the task's exception changes (the worker's traceback or none); B3 promises the "
        "exception's type and args, not its cause.",
    "pool_solution|worker[1].send((task[0], task[1], task[2], task[4]))|core/NumberReplacer|2":
        "A worker only echoes the task id back, and the manager thread never reads the echo (it knows which task "
        "each worker runs), so another value in its place changes nothing.",
    "pool_solution|worker[1].send((task[0], task[1], task[2], task[4]))|core/NumberReplacer|3":
        "A worker only echoes the task id back, and the manager thread never reads the echo (it knows which task "
        "each worker runs), so another value in its place changes nothing.",
    "pool_solution|busy = {w[1]: w for w in self._workers.values() if w[2] is not None}|core/NumberReplacer|1":
        "This first dict of busy workers is only tested for emptiness (is any worker busy?), so keying it by the "
        "process instead of the connection changes nothing.",
    "pool_solution|busy = {w[1]: w for w in self._workers.values() if w[2] is not None}|core/NumberReplacer|7":
        "The manager thread then also waits on the connections of idle workers, which have nothing to read until "
        "the worker dies; then recv() fails and the death is handled through the sentinel, as for a busy worker.",
    "pool_solution|continue  # the worker died; its sentinel reports it below|core/ReplaceContinueWithBreak|0":
        "Leaving the loop over ready connections at a dead worker only puts the other ready results off to the "
        "next turn of the manager's loop (wait() reports them again at once); the death is handled in this turn "
        "either way.",
}
