"""ps3: the reference Scheduler against asyncio, task switches, same run.

    python benchmarks/bench_ps3_scheduler.py [--tasks 10000] [--switches 100] [--repeat 5]

Both sides start --tasks tasks that each give the turn away --switches times
(a bare ``yield`` in the scheduler, ``await asyncio.sleep(0)`` in asyncio):
10 000 x 100 = 1 000 000 switches by default.  Each timing covers starting the
tasks and running them to the end, and is the best of --repeat runs.  The
reference is the source notebook's solution cell, executed as a module.  It
prints both times and the ratio asyncio / reference (target: at least 3).
It is a measurement, not a test.
"""
import argparse
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "source" / "ps3_coroutine_scheduler"
sys.path[:0] = [str(ROOT), str(FOLDER)]

from tools.assignments import reference_solutions  # noqa: E402
import schedlib  # noqa: E402


def reference_scheduler():
    """The Scheduler class of the source notebook's solution cell."""
    module = types.ModuleType("reference_scheduler")
    code = reference_solutions("ps3_coroutine_scheduler")["scheduler_solution"]
    exec(compile(code, "<scheduler_solution>", "exec"), module.__dict__)
    return module.Scheduler


def best(repeat, fn, *args):
    return min(fn(*args) for _ in range(repeat))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--switches", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    Scheduler = reference_scheduler()
    schedlib.scheduler_switches(Scheduler, 100, 10)          # warm up both
    schedlib.asyncio_switches(100, 10)
    t_ref = best(args.repeat, schedlib.scheduler_switches, Scheduler, args.tasks, args.switches)
    t_aio = best(args.repeat, schedlib.asyncio_switches, args.tasks, args.switches)
    total = args.tasks * args.switches
    ratio = t_aio / t_ref
    print(f"{args.tasks} tasks x {args.switches} switches = {total} switches, best of {args.repeat} "
          f"(Python {sys.version.split()[0]})")
    print(f"  reference Scheduler {t_ref:8.3f} s   {t_ref / total * 1e9:7.0f} ns per switch")
    print(f"  asyncio             {t_aio:8.3f} s   {t_aio / total * 1e9:7.0f} ns per switch")
    print(f"  ratio asyncio/reference {ratio:6.2f}   (target >= 3: {'met' if ratio >= 3 else 'NOT met'})")


if __name__ == "__main__":
    main()
