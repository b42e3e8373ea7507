"""ps1: the reference ProcessPool against multiprocessing.Pool.map, same run.

    python benchmarks/bench_ps1_pool.py [--tasks 100000] [--workers 2] [--method spawn] [--repeat 7]

Both pools map a trivial function over the same items with the same chunksize
(multiprocessing's own default: len / (4 * workers)); each timing is the best
of --repeat runs on warm pools.  It prints both times and the ratio
reference / stdlib (target: at most 1.3).  It is a measurement, not a test.
"""
import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "source" / "ps1_process_pool")]

from tools.assignments import writefile_module  # noqa: E402
import tasks  # noqa: E402


def best(repeat, fn):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--method", default="spawn", choices=multiprocessing.get_all_start_methods())
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-ps1-"))
    (workdir / "pool.py").write_text(writefile_module("ps1_process_pool", "pool.py"))
    sys.path.insert(0, str(workdir))
    from pool import ProcessPool  # the reference, as the notebook writes it

    n, chunksize = args.tasks, max(1, args.tasks // (4 * args.workers))
    ctx = multiprocessing.get_context(args.method)
    with ctx.Pool(args.workers) as std, ProcessPool(args.workers, start_method=args.method) as ref:
        assert std.map(tasks.tiny, range(100)) == ref.map(tasks.tiny, range(100))
        t_std = best(args.repeat, lambda: std.map(tasks.tiny, range(n), chunksize=chunksize))
        t_ref = best(args.repeat, lambda: ref.map(tasks.tiny, range(n), chunksize=chunksize))
    ratio = t_ref / t_std
    print(f"{n} tiny tasks, {args.workers} workers ({args.method}), chunksize {chunksize}, best of {args.repeat}")
    print(f"  multiprocessing.Pool.map  {t_std * 1e3:8.1f} ms")
    print(f"  reference ProcessPool.map {t_ref * 1e3:8.1f} ms")
    print(f"  ratio reference/stdlib    {ratio:8.2f}   (target <= 1.3: {'met' if ratio <= 1.3 else 'NOT met'})")


if __name__ == "__main__":
    main()
