"""ps3_coroutine_scheduler: a different correct scheduler, and the common mistakes it must catch.

The mistakes are small edits of the reference solution (read from the source
notebook), so each one differs from a correct scheduler in exactly one idea.
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

CASES = [
    Case("alternative", scheduler(ALT), frozenset(),
         "tid-keyed dicts, one step at a time, match, Kill by throwing Cancelled, a wake-up socket pair: "
         "a different design that must earn full marks"),
    Case("lifo_ready_queue", scheduler(mutate(
        REF, ("popleft, append = ready.popleft, ready.append", "popleft, append = ready.pop, ready.append"),
    )), frozenset({"test_part_a", "test_part_c", "test_part_f"}),
        "the ready queue is a stack: the task that yields runs again, the others starve"),
    Case("busy_wait_sleep", scheduler(mutate(
        REF, ("            timeout = max(0.0, self._sleeping[0][0] - time.monotonic())",
              "            timeout = 0.0                        # not yet: look again at once"),
    )), frozenset({"test_part_c"}), "while every task sleeps, the loop spins instead of blocking"),
    Case("sleeps_add_up", scheduler(mutate(
        REF, ("        deadline = time.monotonic() + request.seconds\n"
              "        heapq.heappush(self._sleeping, (deadline, next(self._order), task))",
              "        time.sleep(request.seconds)\n        self._schedule(task)"),
    )), frozenset({"test_part_b", "test_part_c"}),
        "Sleep blocks the whole thread: sleeps add up, and a 30 s sleeper cannot be killed in time"),
    Case("ties_out_of_order", scheduler(mutate(
        REF, ("(deadline, next(self._order), task)", "(deadline, task.tid, task)"),
    )), frozenset({"test_part_c"}), "equal deadlines wake in tid order, not in the order the tasks went to sleep"),
    Case("join_returns_none", scheduler(mutate(
        REF, ('        if kind == "value":\n            self._schedule(joiner, value)',
              '        if kind == "value":\n            self._schedule(joiner)'),
    )), frozenset({"test_part_b"}), "Join waits, but answers None instead of the child's value"),
    Case("kill_skips_finally", scheduler(mutate(
        REF, ("        try:\n            target.coro.close()                  # GeneratorExit at its yield: finally blocks run\n"
              "        except Exception:\n            pass                                 # a finally block that fails is still killed\n",
              ""),
             ("task.done, task.outcome, task.coro = True, outcome, None", "task.done, task.outcome = True, outcome"),
    )), frozenset({"test_part_b"}), "Kill forgets the task without closing it: its finally blocks never run"),
    Case("exception_kills_scheduler", scheduler(mutate(
        REF, ("                except Exception as exc:         # a failing task never stops the others\n"
              "                    self._finish(task, (\"error\", exc))\n                    continue\n", ""),
    )), frozenset({"test_part_b", "test_part_e"}), "a task's exception escapes run() and stops every task"),
    Case("idle_io_task", scheduler(mutate(
        REF,
        ("        self._alive = 0\n", "        self._alive = 0\n        self._poller = False\n"),
        ("        if self._selector.get_map():\n"
         "            for key, _ in self._selector.select(timeout):\n"
         "                self._selector.unregister(key.fileobj)\n"
         "                key.data.fileobj = None\n"
         "                self._schedule(key.data)\n"
         "        elif timeout is None:",
         "        if timeout is None and not self._sleeping:"),
        ("\n    def _read_wait(self, task, request):", IDLE_POLLER),
        ("        else:\n            task.fileobj = fileobj",
         "        else:\n            task.fileobj = fileobj\n"
         "            if not self._poller:\n                self._poller = True\n"
         "                self.spawn(self._io_poller())"),
    )), frozenset({"test_part_d"}), "I/O is polled by a task that never ends, so run() never returns"),
    Case("next_instead_of_send", scheduler(mutate(
        REF, ("request = task.coro.send(task.value)",
              "request = next(task.coro) if task.value is None else task.coro.send(task.value)"),
    )), frozenset({"test_part_f"}), "next() cannot start a coroutine object: async def tasks fail"),
]

PARTIAL = "join_returns_none"
