"""ps3_coroutine_scheduler: a different correct scheduler, and the common mistakes it must catch.

The mistakes are small edits of the reference solution (read from the source
notebook), so each one differs from a correct scheduler in exactly one idea.
Each loses the test cells of the rules it breaks (the map: rules.py).
"""
from pathlib import Path

from grading import Case, mutate, read
from tools.assignments import reference_solutions

HERE = Path(__file__).parent
CELL = "scheduler_solution"
REF = reference_solutions("ps3_coroutine_scheduler")[CELL]
ALT = read(HERE / "alternative_scheduler.py")


def scheduler(text: str) -> dict:
    return {CELL: text}


def section(first: str, last: str) -> str:
    """The reference's text from `first` to the end of `last` (each must occur once)."""
    start = REF.index(first)
    return REF[start:REF.index(last, start) + len(last)]


def wrong(name: str, loses: set, why: str, *edits: tuple[str, str]) -> Case:
    return Case(name, scheduler(mutate(REF, *edits)), frozenset(loses), why)


IDLE_POLLER = '''
    def _io_poller(self):
        """Beazley's polling task: always ready, so run() never sees "no task left"."""
        while True:
            for key, _ in self._selector.select(0 if self._ready else None):
                self._selector.unregister(key.fileobj)
                key.data.fileobj = None
                self._schedule(key.data)
            yield

    def _read_wait(self, task, request):'''

WAKE_IN_INSERTION_ORDER = '''        now = time.monotonic()
        due = [entry for entry in self._sleeping if entry[0] <= now]
        self._sleeping = [entry for entry in self._sleeping if entry[0] > now]
        for _, _, task in due:                   # in the order they went to sleep
            if not task.done:
                self._schedule(task)'''

DEFERRED_KILL = '''    def _cancel(self, target):
        """Cancel `target` the asyncio way: it receives Cancelled at its next turn."""
        if target.fileobj is not None:
            self._selector.unregister(target.fileobj)
            target.fileobj = None
        if target.joining is not None:
            target.joining.joiners.remove(target)
            target.joining = None
        if target in self._ready:
            self._ready.remove(target)
        self._schedule(target, error=Cancelled(f"task {target.tid} was killed"))'''

THROWN_KILL = '''        try:
            target.coro.throw(Cancelled(f"task {target.tid} was killed"))
        except BaseException:                    # it ended: its finally blocks ran
            self._finish(target, ("killed", None))
        else:                                    # it caught Cancelled and yielded: it goes on
            self._schedule(target)'''

A, A_SPAWN, A_RUN, A_RESULT = "test_part_a", "test_part_a_spawn", "test_part_a_run", "test_part_a_result"
B, B_JOIN_ERRORS, B_KILL, B_KILLED, B_ANYWHERE, B_BAD = (
    "test_part_b", "test_part_b_join_errors", "test_part_b_kill", "test_part_b_killed",
    "test_part_b_kill_anywhere", "test_part_b_bad_request")
C, C_EARLY, C_TIES, C_OVERLAP, C_BUSY, C_IDLE = (
    "test_part_c", "test_part_c_early", "test_part_c_ties", "test_part_c_overlap", "test_part_c_busy", "test_part_c_idle")
D, D_BUSY, D_SLEEP, D_IDLE, D_KILL, D_ERRORS = (
    "test_part_d", "test_part_d_busy", "test_part_d_sleep", "test_part_d_idle", "test_part_d_kill", "test_part_d_errors")
E, E_FAILED, E_BASE = "test_part_e", "test_part_e_failed", "test_part_e_base"
F, F_KILL = "test_part_f", "test_part_f_kill"

CASES = [
    Case("alternative", scheduler(ALT), frozenset(),
         "tid-keyed dicts, one step at a time, match, Kill by throwing Cancelled, a wake-up socket pair: "
         "a different design that must earn full marks"),

    # --- A: tasks and the ready queue ----------------------------------------------
    wrong("spawn_accepts_anything", {A_SPAWN, B_BAD},
          "spawn() takes anything; the bad task only fails when it first runs (and Spawn(42) answers a tid)",
          ('        if not (hasattr(coro, "send") and hasattr(coro, "throw")):\n'
           '            raise TypeError(f"spawn() needs a generator or coroutine object, not {coro!r}")\n', "")),
    wrong("lifo_ready_queue", {A, B_JOIN_ERRORS, B_KILL, B_ANYWHERE, C, C_TIES, D_BUSY},
          "the ready queue is a stack: the task that yields runs again, the others starve (so the tests of B and "
          "D that let tasks take turns fail too), and sleepers due together wake in reverse order",
          ("popleft, append = ready.popleft, ready.append", "popleft, append = ready.pop, ready.append")),
    wrong("spawn_order_reversed", {A},
          "spawn() puts the new task at the front of the queue: tasks start in reverse order",
          ("        self._alive += 1\n        self._ready.append(task)", "        self._alive += 1\n        self._ready.appendleft(task)")),
    wrong("forgets_earlier_runs", {A_RUN},
          "run() starts afresh: the tasks of earlier runs (and their results) are forgotten",
          ("        ready = self._ready\n        popleft",
           "        self.tasks = {task.tid: task for task in self._ready}   # start afresh\n        ready = self._ready\n        popleft")),
    wrong("result_of_unfinished_is_none", {A_RESULT},
          "result() of a task that has not finished answers None instead of raising RuntimeError",
          ('            raise RuntimeError(f"task {tid} has not finished")', "            return None")),

    # --- B: system calls --------------------------------------------------------------
    wrong("spawn_answers_none", {B, F},
          "Spawn starts the child but answers None instead of its tid",
          ("            self._schedule(task, self.spawn(request.coro))",
           "            self.spawn(request.coro)\n            self._schedule(task)")),
    wrong("join_returns_none", {B},
          "Join waits, but answers None instead of the child's value",
          ('        if kind == "value":\n            self._schedule(joiner, value)',
           '        if kind == "value":\n            self._schedule(joiner)')),
    wrong("one_joiner_only", {B},
          "a task remembers only its last joiner: the others wait forever",
          ("            target.joiners.append(task)", "            target.joiners[:] = [task]")),
    wrong("join_error_as_value", {B_JOIN_ERRORS},
          "Join on a failed task answers the exception object instead of raising it",
          ('            self._schedule(joiner, error=Cancelled(f"task {task.tid} was killed") if kind == "killed" else value)',
           '            if kind == "killed":\n                self._schedule(joiner, error=Cancelled(f"task {task.tid} was killed"))\n'
           '            else:\n                self._schedule(joiner, value)')),
    wrong("join_unknown_answers_none", {B_JOIN_ERRORS},
          "Join on an unknown tid answers None instead of raising KeyError",
          ('            self._schedule(task, error=KeyError(f"Join({request.tid!r}): no such task"))',
           "            self._schedule(task)")),
    wrong("join_cycle_undetected", {B_JOIN_ERRORS},
          "Join refuses only a task joining itself: a cycle of two or three tasks waits forever",
          ("        elif self._waits_for(target, task):", "        elif target is task:")),
    wrong("kill_skips_finally", {B_KILL, F_KILL},
          "Kill forgets the task without closing it: its finally blocks never run",
          ("        try:\n            target.coro.close()                  # GeneratorExit at its yield: finally blocks run\n"
           "        except Exception:\n            pass                                 # it yielded again, or its finally raised: still killed\n",
           ""),
          ("task.done, task.outcome, task.coro = True, outcome, None", "task.done, task.outcome = True, outcome")),
    wrong("kill_deferred", {B_KILLED, B_ANYWHERE, F_KILL},
          "Kill throws Cancelled into the target at its next turn (as asyncio's cancel() does): the killer goes "
          "on before the target's finally blocks run, a target that catches it lives on, and it counts as failed",
          (section("    def _cancel(self, target):", '        self._finish(target, ("killed", None))'), DEFERRED_KILL)),
    wrong("join_killed_answers_none", {B_KILLED},
          "Join on a task that was killed earlier answers None (only the joiners waiting at the kill get Cancelled)",
          ("        elif target.done:\n            self._deliver(task, target)",
           '        elif target.done:\n            if target.outcome[0] == "killed":\n                self._schedule(task)\n'
           "            else:\n                self._deliver(task, target)")),
    wrong("killed_in_failed", {B_KILLED, F_KILL},
          "a killed task is recorded in failed, as if Cancelled were its failure",
          ('        self._finish(target, ("killed", None))',
           '        self._finish(target, ("killed", None))\n        self.failed[target.tid] = Cancelled(f"task {target.tid} was killed")')),
    wrong("kill_finally_error_escapes", {B_KILLED},
          "only the RuntimeError of a task that yields again is caught: a finally block's error leaves run()",
          ("        except Exception:\n            pass                                 # it yielded again, or its finally raised: still killed",
           "        except RuntimeError:\n            pass                                 # it yielded again: still killed")),
    wrong("kill_by_throw_lives_on", {B_ANYWHERE},
          "Kill throws Cancelled in; a task that catches Exception and yields again lives on",
          ("        try:\n            target.coro.close()                  # GeneratorExit at its yield: finally blocks run\n"
           "        except Exception:\n            pass                                 # it yielded again, or its finally raised: still killed\n"
           '        self._finish(target, ("killed", None))', THROWN_KILL)),
    wrong("kill_unknown_raises", {B_ANYWHERE},
          "Kill looks the target up with [], so Kill of an unknown tid raises KeyError out of run()",
          ("        target = self.tasks.get(request.tid)\n        if target is not None and not target.done:",
           "        target = self.tasks[request.tid]\n        if not target.done:")),
    wrong("self_kill_resumes", {B_ANYWHERE},
          "the killer is always put back in the queue, even when it killed itself",
          ("        if not task.done:                        # a task may kill itself\n            self._schedule(task)",
           "        self._schedule(task)")),
    wrong("unknown_request_ignored", {B_BAD},
          "a task that yields something unknown is treated as if it had yielded None",
          ("            self._schedule(task, error=TypeError(\n"
           '                f"a task yielded {request!r}: yield nothing (to let others run) or a system call"))',
           "            self._schedule(task)")),
    wrong("unknown_request_crashes", {B_BAD},
          "the handler is looked up with [], so an unknown request raises KeyError out of run()",
          ("        handler = self._handlers.get(type(request))\n        if handler is None:",
           "        handler = self._handlers[type(request)]\n        if handler is None:")),

    # --- C: sleeping -----------------------------------------------------------------
    wrong("wakes_early_20ms", {C_EARLY},
          "a sleeper whose deadline is less than 20 ms away counts as due: it wakes up to 20 ms early",
          ("        while self._sleeping and self._sleeping[0][0] <= now:",
           "        while self._sleeping and self._sleeping[0][0] <= now + 0.02:   # close enough")),
    wrong("wake_in_insertion_order", {C},
          "sleepers in a list: those due are woken in the order they went to sleep, not by deadline",
          ("        heapq.heappush(self._sleeping, (deadline, next(self._order), task))",
           "        self._sleeping.append((deadline, next(self._order), task))"),
          ("max(0.0, self._sleeping[0][0] - time.monotonic())", "max(0.0, min(self._sleeping)[0] - time.monotonic())"),
          ("        now = time.monotonic()\n        while self._sleeping and self._sleeping[0][0] <= now:\n"
           "            task = heapq.heappop(self._sleeping)[2]\n"
           "            if not task.done:                    # a killed sleeper leaves a stale entry\n"
           "                self._schedule(task)", WAKE_IN_INSERTION_ORDER)),
    wrong("ties_out_of_order", {C_TIES},
          "equal deadlines wake in tid order, not in the order the tasks went to sleep",
          ("(deadline, next(self._order), task)", "(deadline, task.tid, task)")),
    wrong("sleeps_add_up", {B_ANYWHERE, C, C_EARLY, C_OVERLAP, C_IDLE, D_SLEEP},
          "Sleep blocks the whole thread: sleeps add up (and wake out of order), time.sleep(-1) fails, "
          "and a 30 s sleeper cannot be killed in time",
          ("        else:\n            heapq.heappush(self._sleeping, (deadline, next(self._order), task))",
           "        else:\n            time.sleep(request.seconds)\n            self._schedule(task)")),
    wrong("deadlines_only_when_idle", {C_BUSY, D_BUSY},
          "deadlines and sockets are looked at only when no task is ready: a busy task starves the sleepers",
          ("            if self._alive:\n                self._wait(block=not ready)",
           "            if self._alive and not ready:\n                self._wait(block=True)")),
    wrong("busy_wait_sleep", {C_IDLE},
          "while every task sleeps, the loop spins instead of blocking",
          ("            timeout = max(0.0, self._sleeping[0][0] - time.monotonic())",
           "            timeout = 0.0                        # not yet: look again at once")),
    wrong("sleep_polls_every_10ms", {C_IDLE},
          "while every task sleeps, the loop wakes every 10 ms to look at the clock",
          ("            timeout = max(0.0, self._sleeping[0][0] - time.monotonic())",
           "            timeout = min(0.01, max(0.0, self._sleeping[0][0] - time.monotonic()))")),

    # --- D: sockets ------------------------------------------------------------------
    Case("idle_io_task", scheduler(mutate(
        REF,
        ("        self._alive = 0\n", "        self._alive = 0\n        self._poller = False\n"),
        ("        if self._selector.get_map():\n"
         "            for key, _ in self._selector.select(timeout):\n"
         "                self._selector.unregister(key.fileobj)\n"
         "                key.data.fileobj = None\n"
         "                self._schedule(key.data)\n"
         "        elif timeout:",
         "        if timeout:"),
        ("\n    def _read_wait(self, task, request):", IDLE_POLLER),
        ("        else:\n            task.fileobj = fileobj",
         "        else:\n            task.fileobj = fileobj\n"
         "            if not self._poller:\n                self._poller = True\n"
         "                self.spawn(self._io_poller())"),
    )), frozenset({D, D_BUSY, D_SLEEP, D_IDLE, D_KILL}),
        "I/O is polled by a task that never ends, so run() never returns"),
    wrong("io_checked_when_idle_only", {D_BUSY},
          "sockets are looked at only when no task is ready: a busy task starves the readers",
          ("        if self._selector.get_map():\n            for key, _ in self._selector.select(timeout):",
           "        if block and self._selector.get_map():\n            for key, _ in self._selector.select(timeout):")),
    wrong("select_ignores_deadlines", {D_SLEEP},
          "while tasks wait for sockets, select() waits without a timeout: sleepers wake only when a socket is ready",
          ("        if block and self._sleeping:\n", "        if block and self._sleeping and not self._selector.get_map():\n")),
    wrong("io_polls_every_10ms", {D_IDLE},
          "while every task waits for a socket, select() times out every 10 ms",
          ("        timeout = None if block else 0\n", "        timeout = 0.01 if block else 0\n")),
    wrong("kill_keeps_watch", {D_KILL},
          "Kill does not unregister the target's socket: nobody else can wait for it",
          ("        if target.fileobj is not None:\n            self._selector.unregister(target.fileobj)\n"
           "            target.fileobj = None\n        if target in self._ready:",
           "        if target in self._ready:")),
    wrong("bad_socket_crashes_run", {D_ERRORS},
          "only KeyError from register() is handed to the task: a closed socket's ValueError leaves run()",
          ("        except (KeyError, ValueError, OSError) as exc:   # already watched, closed, not a socket",
           "        except KeyError as exc:                          # already watched")),

    # --- E: failures -----------------------------------------------------------------
    wrong("exception_kills_scheduler", {B_JOIN_ERRORS, B_BAD, D_ERRORS, E, E_FAILED, E_BASE, F_KILL},
          "a task's exception escapes run() and stops every task",
          ("                except Exception as exc:         # a failing task never stops the others\n"
           "                    self._finish(task, (\"error\", exc))\n                    continue\n", "")),
    wrong("result_wraps_exception", {E},
          "result() raises a new RuntimeError (from the task's exception) instead of the task's own exception",
          ("        if kind == \"error\":\n            raise value",
           "        if kind == \"error\":\n            raise RuntimeError(f\"task {tid} failed\") from value")),
    wrong("raised_cancelled_counts_as_killed", {E, E_FAILED},
          "a task that raises Cancelled itself is taken as killed, not as failed",
          ("                except Exception as exc:         # a failing task never stops the others\n",
           "                except Cancelled:\n                    self._finish(task, (\"killed\", None))\n                    continue\n"
           "                except Exception as exc:         # a failing task never stops the others\n")),
    wrong("joined_failures_stay_in_failed", {E_FAILED},
          "a failure joined after it happened stays in failed",
          ("            self.failed.pop(task.tid, None)      # somebody has seen this failure now\n", "")),
    wrong("catches_base_exception", {E_BASE},
          "run() catches BaseException: KeyboardInterrupt and SystemExit from a task are kept as failures",
          ("                except Exception as exc:         # a failing task never stops the others",
           "                except BaseException as exc:     # a failing task never stops the others")),

    # --- F: async/await --------------------------------------------------------------
    wrong("next_instead_of_send", {F, F_KILL},
          "next() cannot start a coroutine object: async def tasks fail",
          ("request = task.coro.send(task.value)",
           "request = next(task.coro) if task.value is None else task.coro.send(task.value)")),
    wrong("coroutines_rejected", {F, F_KILL},
          "spawn() accepts generators only (inspect.isgenerator): coroutine objects raise TypeError",
          ('        if not (hasattr(coro, "send") and hasattr(coro, "throw")):',
           "        if not inspect.isgenerator(coro):")),
    wrong("kill_uses_generator_state", {F_KILL},
          "Kill asks inspect.getgeneratorstate first, which fails on a coroutine: the error is swallowed and "
          "the coroutine is not closed",
          ("            target.coro.close()                  # GeneratorExit at its yield: finally blocks run",
           "            if inspect.getgeneratorstate(target.coro) != inspect.GEN_CLOSED:\n"
           "                target.coro.close()              # GeneratorExit at its yield: finally blocks run")),
]

PARTIAL = "join_returns_none"
