"""Parallel autograding against sequential `nbgrader autograde`, same run.

    python benchmarks/bench_parallel_grading.py [--students 20] [--jobs N] [--assignment ps1_process_pool]

Builds a temporary course, lets N simulated students submit (the reference
solution, a partly correct one and the blank release, in turn), and grades
two identical copies: one with `nbgrader autograde ASSIGNMENT` (one student
after another, nbgrader's own loop), one with `python -m grader autograde
ASSIGNMENT --jobs N`.  Both use the course's configuration, sandbox included.
Prints both times, the ratio (target >= 1.7 on 2 cores) and whether the two
gradebooks agree.  A measurement, not a test.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import grading  # noqa: E402
from grading_course import cell_grades, collected_course, parallel_autograde  # noqa: E402
from tools.assignments import reference_solutions  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--assignment", default="ps1_process_pool")
    args = parser.parse_args()
    name = args.assignment
    kinds = [reference_solutions(name), grading.case(name, grading.module(name).PARTIAL).solutions, {}]
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    one = work / "sequential"
    print(f"preparing {args.students} submissions of {name} in {work} ...", flush=True)
    collected_course(one, name, {f"s{i:03d}": kinds[i % 3] for i in range(args.students)})
    two = work / "parallel"
    shutil.copytree(one, two, symlinks=True)
    (two / "nbgrader_config.py").write_text((one / "nbgrader_config.py").read_text().replace(str(one), str(two)))

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    start = time.perf_counter()
    seq = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", name], cwd=one, env=env,
                         capture_output=True, text=True)
    t_seq = time.perf_counter() - start
    start = time.perf_counter()
    par = parallel_autograde(two, name, args.jobs, timeout=7200)
    t_par = time.perf_counter() - start
    g1, g2 = cell_grades(one, name), cell_grades(two, name)
    same = g1 == g2
    for key in sorted(set(g1) | set(g2)):
        if g1.get(key) != g2.get(key):
            print(f"  differs: {key}: sequential {g1.get(key)}, parallel {g2.get(key)}")
    print(f"sequential nbgrader autograde : {t_seq:7.1f} s  (exit {seq.returncode})")
    print(f"python -m grader --jobs {args.jobs:<5}: {t_par:7.1f} s  (exit {par.returncode})")
    print(f"speed-up                      : {t_seq / t_par:7.2f}x  (target >= 1.7 on 2 cores: "
          f"{'met' if t_seq / t_par >= 1.7 else 'NOT met'})")
    print(f"same grades in both gradebooks: {same}")
    if same:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work} for inspection")


if __name__ == "__main__":
    main()
