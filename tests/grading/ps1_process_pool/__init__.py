"""ps1_process_pool: a different correct pool, and the common mistakes it must catch.

Most mistakes are small edits of one of the two correct pools: the reference
(read from the source notebook: one pipe per worker, a manager thread that
replaces workers that die) or the alternative (shared queues, a collector
thread, the whole pool breaks when a worker dies), so each one differs from a
correct pool in exactly one idea.  Each loses the test cells of the rules it
breaks (tests/grading/ps1_process_pool/rules.py names them).
"""
from pathlib import Path

from grading import COURSE_CELL_LIMIT, Case, mutate, read
from tools.assignments import writefile_module

HERE = Path(__file__).parent
ALT = read(HERE / "alternative_pool.py")
REF = writefile_module("ps1_process_pool", "pool.py")


def pool(text: str) -> dict:
    return {"pool_solution": "%%writefile pool.py\n" + text}


def cells(*names: str) -> frozenset:
    return frozenset(f"test_part_{name}" for name in names)


# --- edits used by several mistakes -------------------------------------------
ALT_MAP_WAIT = "            out.extend(f.result(None if end is None else max(0, end - time.monotonic())))"
ALT_JOB_BODY = """            job_id, future = next(self._ids), Future()
            self._jobs[job_id] = (future, single)
            future.set_running_or_notify_cancel()
            # under the lock, so that shutdown's stop messages cannot overtake it
            self._tasks.put((job_id, fn, calls))
        return future"""
ALT_SHUTDOWN_WAIT = """        if wait:
            for proc in self._procs:
                proc.join()
            if self._collector.is_alive():
                self._results.put(("stop",))
                self._collector.join()"""
ALT_REAP = "                sentinels.pop(s).join()  # reap it: after shutdown(wait=False) nobody else will"
REF_MANAGER_WAIT = "            ready = wait([self._wake_r, *busy, *self._workers])  # blocks: no busy-waiting"
REF_BURY_TASK = """            task[3].set_exception(BrokenProcessPool(reason + " while running a task"))
            return"""

CASES = [
    Case("alternative", pool(ALT), frozenset(),
         "shared queues, whole-pool breakage: a different design that must earn full marks"),

    # --- Part A ---------------------------------------------------------------
    Case("lazy_workers", pool(mutate(
        ALT,
        ("        for proc in self._procs:\n            proc.start()\n",
         "        self._started = False  # the workers start with the first task\n"),
        ("        self._collector.start()\n", ""),
        ("            job_id, future = next(self._ids), Future()\n",
         "            if not self._started:\n                self._started = True\n"
         "                for proc in self._procs:\n                    proc.start()\n"
         "                self._collector.start()\n"
         "            job_id, future = next(self._ids), Future()\n"),
    )), cells("a_workers"), "the workers start with the first submit, not in __init__"),
    Case("default_size_at_import", pool(mutate(
        ALT, ("    def __init__(self, processes=None, *, start_method=None):\n"
              "        count = os.cpu_count() if processes is None else processes",
              "    def __init__(self, processes=os.cpu_count(), *, start_method=None):\n"
              "        count = processes"),
    )), cells("a_workers"), "the default size is read once, when pool.py is imported"),
    Case("no_size_check", pool(mutate(
        ALT, ('        if count < 1:\n            raise ValueError("a pool needs at least one process")\n', ""),
    )), cells("a_arguments"), "ProcessPool(0) makes a pool with no workers instead of raising ValueError"),
    Case("start_method_ignored", pool(mutate(
        ALT, ("        ctx = multiprocessing.get_context(start_method)",
              '        ctx = multiprocessing.get_context("spawn")  # spawn works everywhere'),
    )), cells("a_arguments"), "every pool uses spawn, whatever start_method says"),

    # --- Part B ---------------------------------------------------------------
    Case("submit_waits_for_a_worker", pool(mutate(
        ALT,
        ("        self._ids = itertools.count()\n",
         "        self._ids = itertools.count()\n"
         "        self._slots = threading.Semaphore(count)  # one job per worker at a time\n"),
        ('            if self._broken:\n                raise BrokenProcessPool("pool is broken")\n'
         "            job_id, future = next(self._ids), Future()",
         '            if self._broken:\n                raise BrokenProcessPool("pool is broken")\n'
         "        self._slots.acquire()  # wait for a free worker\n"
         "        with self._lock:\n"
         "            job_id, future = next(self._ids), Future()"),
        ("                    future, single = self._jobs.pop(job_id)\n",
         "                    future, single = self._jobs.pop(job_id)\n                    self._slots.release()\n"),
        ("        for future, _ in jobs.values():\n",
         "        for future, _ in jobs.values():\n            self._slots.release()\n"),
    )), cells("b_results", "c_timeout", "e_after", "f_nowait"),
        "submit blocks until a worker is free instead of queueing the task (so map's timeout starts late, "
        "and a caller that submits more tasks than there are workers waits); and it checks for shutdown "
        "in one lock region and queues in another, so a shutdown in between loses the task (F5)"),
    Case("fn_not_positional_only", pool(mutate(
        ALT, ("    def submit(self, fn, /, *args, **kwargs):", "    def submit(self, fn, *args, **kwargs):"),
    )), cells("b_results"), "submit(f, fn=...) fails: submit's own fn is not positional-only"),
    Case("exception_as_text", pool(mutate(
        ALT,
        ('            results.put(("done", job_id, False, exc))',
         '            results.put(("done", job_id, False, f"{type(exc).__name__}: {exc}"))'),
        ("                        future.set_exception(value)",
         "                        future.set_exception(RuntimeError(value))"),
    )), cells("b_results", "c_errors"), "exceptions come back as RuntimeError(text): type and args are lost"),
    Case("swallowed_exceptions", pool(mutate(
        ALT, ('            results.put(("done", job_id, False, exc))',
              '            results.put(("done", job_id, True, [None] * len(calls)))'),
    )), cells("b_results", "c_errors"), "a failing task returns None instead of raising"),
    Case("unpicklable_exception_kills_the_worker", pool(mutate(
        ALT, ("""            try:
                results.put(("done", job_id, False, exc))
            except Exception as problem:  # the exception cannot be pickled: send one that can
                results.put(("done", job_id, False, RuntimeError(f"{exc!r} cannot be pickled: {problem}")))""",
              """            results.put(("done", job_id, False, exc))"""),
    )), cells("b_results"),
        "an exception that cannot be pickled goes to the result queue all the same: the worker dies of the "
        "pickling error and the pool breaks"),
    Case("racy_job_ids", pool(mutate(
        ALT,
        ("        self._ids = itertools.count()\n", "        self._next_id = 0\n"),
        ("""            if self._broken:
                raise BrokenProcessPool("pool is broken")
""" + ALT_JOB_BODY, """            if self._broken:
                raise BrokenProcessPool("pool is broken")
        job_id = self._next_id  # an int: reading and writing it needs no lock (so it seemed)
        future = Future()
        self._next_id = job_id + 1
        with self._lock:
            self._jobs[job_id] = (future, single)
            future.set_running_or_notify_cancel()
            self._tasks.put((job_id, fn, calls))
        return future"""),
    )), cells("b_threads", "f_nowait"),
        "two threads can read the same job id: one future is lost, one gets two results; and the shutdown "
        "check and the queueing are in separate steps, so a shutdown in between loses the task (F5)"),
    Case("resolve_under_lock", pool(mutate(
        REF, ("                task, busy[conn][2] = busy[conn][2], None\n"
              "                self._resolve(task, ok, payload)",
              "                with self._lock:  # the pool's state and the futures change together\n"
              "                    task, busy[conn][2] = busy[conn][2], None\n"
              "                    self._resolve(task, ok, payload)"),
    )), cells("b_threads"), "futures are resolved while holding the pool's lock: a callback that submits deadlocks"),

    # --- Part C ---------------------------------------------------------------
    Case("results_out_of_order", pool(mutate(
        ALT,
        ("        out = []\n        for f in futures:\n" + ALT_MAP_WAIT,
         "        from concurrent.futures import as_completed\n        out = []\n"
         "        for f in as_completed(futures, timeout):\n            out.extend(f.result())"),
    )), cells("c_results", "c_errors"), "map returns results in completion order"),
    Case("chunksize_ignored", pool(mutate(
        ALT, ("for i in range(0, len(calls), chunksize)]", "for i in range(0, len(calls), 1)]"),
             ("calls[i:i + chunksize]", "calls[i:i + 1]"),
    )), cells("c_results"), "map sends every item on its own"),
    Case("first_failure_by_time", pool(mutate(
        ALT, ("        out = []\n        for f in futures:\n" + ALT_MAP_WAIT,
              "        from concurrent.futures import FIRST_EXCEPTION, wait\n"
              "        done, _ = wait(futures, timeout, return_when=FIRST_EXCEPTION)  # stop at the first failure\n"
              "        for f in done:\n            if f.exception() is not None:\n                raise f.exception()\n"
              "        out = []\n        for f in futures:\n" + ALT_MAP_WAIT),
    )), cells("c_errors"), "map raises the failure that happens first, not the first in input order"),
    Case("timeout_per_chunk", pool(mutate(
        ALT, (ALT_MAP_WAIT, "            out.extend(f.result(timeout))"),
    )), cells("c_timeout"), "map applies the timeout to each chunk instead of to the whole call"),
    Case("cancelled_crash_the_manager", pool(mutate(
        REF, ("                task = self._pending.popleft()\n"
              "                if task[3].set_running_or_notify_cancel():\n"
              "                    return task",
              "                return self._pending.popleft()"),
    )), cells("c_errors", "c_timeout"),
        "futures are never marked running: a chunk that map cancelled still runs, and setting its result "
        "kills the manager thread"),

    # --- Part D ---------------------------------------------------------------
    Case("work_in_parent", pool(read(HERE / "wrong_parent_threads.py")),
         cells("a_arguments", "b_results", "c_results", "d_reuse", "d_parallel", "e_task", "e_after", "f_shutdown",
               "f_nowait"),
         "tasks run in threads of the parent; workers are decoys (and nothing is pickled, so a value that "
         "cannot be pickled comes back as a value)"),
    Case("process_per_task", pool(read(HERE / "wrong_process_per_task.py")),
         cells("b_results", "c_results", "c_timeout", "d_reuse", "d_parallel", "e_after", "f_shutdown", "f_nowait"),
         "a new process for every task: nothing reused, chunks ignored, timeout per task, pids of decoys; an "
         "argument that cannot be pickled kills the thread that starts the task's process",
         # slow, not wrong, in the cells it keeps (hundreds of new interpreters): the course's cell limit
         limits=COURSE_CELL_LIMIT),
    Case("workers_take_turns", pool(mutate(
        ALT,
        ("def _work(tasks, results):", "def _work(tasks, results, turn):"),
        ("                values.append(fn(*args, **kwargs))",
         "                with turn:  # one task at a time, so that results come back in order\n"
         "                    values.append(fn(*args, **kwargs))"),
        ("        self._procs = [ctx.Process(target=_work, args=(self._tasks, self._results), daemon=True)",
         "        self._turn = ctx.Lock()\n"
         "        self._procs = [ctx.Process(target=_work, args=(self._tasks, self._results, self._turn), daemon=True)"),
    )), cells("d_parallel"), "the workers share a lock around every task: they never run at the same time"),
    Case("round_robin", pool(mutate(
        ALT,
        ("        self._tasks, self._results = ctx.SimpleQueue(), ctx.SimpleQueue()\n"
         "        self._procs = [ctx.Process(target=_work, args=(self._tasks, self._results), daemon=True)\n"
         "                       for _ in range(count)]",
         "        self._inboxes = [ctx.SimpleQueue() for _ in range(count)]  # one per worker\n"
         "        self._results = ctx.SimpleQueue()\n"
         "        self._procs = [ctx.Process(target=_work, args=(inbox, self._results), daemon=True)\n"
         "                       for inbox in self._inboxes]"),
        ("            self._tasks.put((job_id, fn, calls))",
         "            self._inboxes[job_id % len(self._inboxes)].put((job_id, fn, calls))  # deal them out in turn"),
        ("            for _ in self._procs:\n                self._tasks.put(None)",
         "            for inbox in self._inboxes:\n                inbox.put(None)"),
    )), cells("d_parallel"), "tasks are dealt out to the workers in turn: a free worker idles while others queue"),

    # --- Part E ---------------------------------------------------------------
    Case("hangs_on_dead_worker", pool(mutate(
        ALT, ("            watch = [reader] + list(sentinels)", "            watch = [reader]"),
    )), cells("e_task", "e_after", "f_nowait"),
        "nobody watches the workers' sentinels: a dead worker's task hangs, and nobody reaps the workers "
        "after shutdown(wait=False)"),
    Case("exit_zero_is_not_a_death", pool(mutate(
        ALT, ("            dead = [s for s in ready if s in sentinels]",
              "            dead = []\n"
              "            for s in ready:\n"
              "                if s in sentinels:\n"
              "                    sentinels[s].join()\n"
              "                    if sentinels[s].exitcode == 0:  # it stopped normally: stop watching it\n"
              "                        sentinels.pop(s)\n"
              "                    else:\n"
              "                        dead.append(s)"),
    )), cells("e_task"), "a worker that exits with code 0 is taken for one that stopped normally: its task hangs"),
    Case("pids_lists_dead_workers", pool(mutate(
        ALT, ("        return [p.pid for p in self._procs if p.exitcode is None]",
              "        return [p.pid for p in self._procs]"),
    )), cells("e_after", "f_shutdown"), "pids lists every worker ever started, dead or alive"),
    Case("replace_fails_the_queue", pool(mutate(
        REF, (REF_BURY_TASK,
              '            task[3].set_exception(BrokenProcessPool(reason + " while running a task"))\n'
              "            with self._lock:  # the queued tasks may have been meant for it: fail them too\n"
              "                pending, self._pending = list(self._pending), deque()\n"
              "            for other in pending:\n"
              "                if other[3].set_running_or_notify_cancel():\n"
              "                    other[3].set_exception(BrokenProcessPool(reason))\n"
              "            return"),
    )), cells("e_after"), "a pool that replaces its dead worker also fails every queued task"),
    Case("forgets_idle_deaths", pool(mutate(
        REF, (REF_BURY_TASK, REF_BURY_TASK + "\n        return  # it died between tasks: no future to fail"),
    )), cells("e_after"), "a worker that dies between tasks is dropped: the pool goes on with one worker fewer"),
    Case("broken_pool_accepts_work", pool(mutate(
        ALT, ('            if self._broken:\n                raise BrokenProcessPool("pool is broken")\n', ""),
    )), cells("e_after"), "a broken pool's submit returns futures that never resolve"),
    Case("failed_send_drops_the_task", pool(mutate(
        REF, ("                except OSError:  # the worker has died: its sentinel will fail the task (BrokenProcessPool)\n"
              "                    worker[2] = task\n",
              "                except OSError:  # the worker has died: nothing was sent\n"
              "                    pass\n"),
    )), cells("e_task"), "a task whose sending fails because its worker has just died is forgotten: it never resolves"),
    Case("dying_in_shutdown_strands_the_queue", pool(mutate(
        REF, ("            # pool shuts down, as the tasks still queued need a worker (F1).\n            self._start_worker()\n",
              "            if not self._closing:\n                self._start_worker()\n"),
    )), cells("e_after"), "a worker that dies while shutdown() waits is not replaced: the queued tasks wait forever"),

    # --- Part F ---------------------------------------------------------------
    Case("zombies_left", pool(mutate(
        ALT, ("        if wait:\n            for proc in self._procs:\n                proc.join()\n",
              "        if wait:\n            for proc in self._procs:\n"
              "                multiprocessing.connection.wait([proc.sentinel])\n"),
             (ALT_REAP, "                sentinels.pop(s)"),
    )), cells("f_shutdown", "f_nowait"), "the pool waits for its workers to exit but never reaps them"),
    Case("shutdown_drops_queued_work", pool(mutate(
        REF, ("                if self._closing and not self._pending and not busy:",
              "                if self._closing and not busy:"),
    )), cells("f_shutdown", "f_nowait"), "shutdown stops the workers once no task is running, dropping the queued ones"),
    Case("submit_after_shutdown", pool(mutate(
        REF, ('            if self._closing:\n                raise RuntimeError("cannot submit after shutdown")\n', ""),
    )), cells("f_shutdown", "f_nowait"), "submit after shutdown returns a future that never resolves"),
    Case("nowait_waits", pool(mutate(
        ALT, (ALT_SHUTDOWN_WAIT, """        for proc in self._procs:
            proc.join()
        if self._collector.is_alive():
            self._results.put(("stop",))
            self._collector.join()"""),
    )), cells("f_nowait"), "shutdown(wait=False) waits all the same"),
    Case("nowait_never_reaps", pool(mutate(
        ALT, (ALT_REAP, "                sentinels.pop(s)"),
    )), cells("f_nowait"), "after shutdown(wait=False) nobody joins the workers: they stay zombies"),
    Case("second_shutdown_raises", pool(mutate(
        REF, ("        with self._lock:\n            self._closing = True\n        self._wake()",
              "        with self._lock:\n            if self._closing:\n"
              '                raise RuntimeError("the pool is already shut down")\n'
              "            self._closing = True\n        self._wake()"),
    )), cells("f_nowait"), "a second shutdown raises RuntimeError"),
    Case("second_shutdown_returns_early", pool(mutate(
        ALT, ("            broken = self._broken\n",
              "            broken = self._broken\n        if not first:\n            return  # already shut down\n"),
    )), cells("f_nowait"), "shutdown(wait=True) after shutdown(wait=False) returns without waiting"),
    Case("submit_races_shutdown", pool(mutate(
        ALT, (ALT_JOB_BODY, """            job_id, future = next(self._ids), Future()
            self._jobs[job_id] = (future, single)
        future.set_running_or_notify_cancel()
        self._tasks.put((job_id, fn, calls))
        return future"""),
    )), cells("f_nowait"), "a task sent after the lock is released can arrive after shutdown's stop messages"),
    Case("busy_wait_results", pool(mutate(
        ALT, ("            ready = wait(watch)", "            ready = wait(watch, timeout=0)"),
    )), cells("f_idle"), "the collector polls in a loop instead of blocking"),
    Case("wakes_every_50ms", pool(mutate(
        REF, (REF_MANAGER_WAIT, "            ready = wait([self._wake_r, *busy, *self._workers], timeout=0.05)  # look every 50 ms"),
    )), cells("f_idle"), "the manager thread wakes every 50 ms instead of blocking"),
    Case("workers_poll", pool(mutate(
        ALT,
        ("import threading\n", "import threading\nimport time\n"),
        ("        job = tasks.get()",
         "        while tasks.empty():  # nothing to do yet: look again soon\n"
         "            time.sleep(0.01)\n        job = tasks.get()"),
    )), cells("f_idle"), "idle workers poll the task queue every 10 ms instead of blocking in get()"),
]

PARTIAL = "exception_as_text"
