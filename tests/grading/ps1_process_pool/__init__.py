"""ps1_process_pool: a different correct pool, and the common mistakes it must catch."""
from pathlib import Path

from grading import Case, mutate, read

HERE = Path(__file__).parent
ALT = read(HERE / "alternative_pool.py")


def pool(text: str) -> dict:
    return {"pool_solution": "%%writefile pool.py\n" + text}


CASES = [
    Case("alternative", pool(ALT), frozenset(),
         "shared queues, whole-pool breakage: a different design that must earn full marks"),
    Case("results_out_of_order", pool(mutate(
        ALT,
        ("        out = []\n        for f in futures:\n            out.extend(f.result(None if end is None else max(0, end - time.monotonic())))",
         "        from concurrent.futures import as_completed\n        out = []\n"
         "        for f in as_completed(futures, timeout):\n            out.extend(f.result())"),
    )), frozenset({"test_part_c"}), "map returns results in completion order"),
    Case("chunksize_ignored", pool(mutate(
        ALT, ("for i in range(0, len(calls), chunksize)]", "for i in range(0, len(calls), 1)]"),
             ("calls[i:i + chunksize]", "calls[i:i + 1]"),
    )), frozenset({"test_part_c"}), "map sends every item on its own"),
    Case("swallowed_exceptions", pool(mutate(
        ALT, ('            results.put(("done", job_id, False, exc))',
              '            results.put(("done", job_id, True, [None] * len(calls)))'),
    )), frozenset({"test_part_b", "test_part_c"}), "a failing task returns None instead of raising"),
    Case("hangs_on_dead_worker", pool(mutate(
        ALT, ("            watch = [reader] + list(sentinels)", "            watch = [reader]"),
    )), frozenset({"test_part_e"}), "nobody watches the workers' sentinels"),
    Case("zombies_left", pool(mutate(
        ALT, ("        if wait:\n            for proc in self._procs:\n                proc.join()\n",
              "        if wait:\n            for proc in self._procs:\n"
              "                multiprocessing.connection.wait([proc.sentinel])\n"),
    )), frozenset({"test_part_f"}), "shutdown waits for its workers to exit but never reaps them"),
    Case("busy_wait_results", pool(mutate(
        ALT, ("            ready = wait(watch)", "            ready = wait(watch, timeout=0)"),
    )), frozenset({"test_part_f"}), "the collector polls in a loop instead of blocking"),
    Case("work_in_parent", pool(read(HERE / "wrong_parent_threads.py")),
         frozenset({"test_part_a", "test_part_d", "test_part_e", "test_part_f"}),
         "tasks run in threads of the parent; workers are decoys"),
    Case("process_per_task", pool(read(HERE / "wrong_process_per_task.py")),
         frozenset({"test_part_c", "test_part_d", "test_part_f"}),
         "a new process for every task: nothing reused, chunks ignored, results not from the pool"),
]

PARTIAL = "results_out_of_order"
