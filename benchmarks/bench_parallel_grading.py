"""Parallel autograding against sequential `nbgrader autograde`, same run.

    python benchmarks/bench_parallel_grading.py [--students 20] [--jobs N] [--assignment ps1_process_pool]

Builds a temporary course, lets N simulated students submit (the reference
solution, a partly correct one and the blank release, in turn), and grades
two identical copies: one with `nbgrader autograde ASSIGNMENT` (one student
after another, nbgrader's own loop), one with `python -m grader autograde
ASSIGNMENT --jobs N`.  Both use the course's configuration, sandbox included.
Prints both times, the ratio (target >= 1.7 on 2 cores) and whether the parallel
run's report (autograded/.logs/ASSIGNMENT/report.json, grader.parallel.read_report:
every student graded, each test cell's score) agrees with what sequential nbgrader
recorded in its gradebook.  A measurement, not a test: run it on a quiet machine.
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
from grader.parallel import read_report  # noqa: E402
from grading_course import cell_grades, collected_course, parallel_autograde  # noqa: E402
from harness import write_config  # noqa: E402
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
    write_config(two)  # the same course, its paths in the copy

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    start = time.perf_counter()
    seq = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", name], cwd=one, env=env,
                         capture_output=True, text=True)
    t_seq = time.perf_counter() - start
    start = time.perf_counter()
    par = parallel_autograde(two, name, args.jobs, timeout=7200)
    t_par = time.perf_counter() - start
    sequential = cell_grades(one, name)
    try:
        report = read_report(two, name)
    except (OSError, ValueError) as exc:
        print(f"no report from the parallel run ({exc}):\n{par.stdout[-2000:]}{par.stderr[-2000:]}")
        raise SystemExit(1)
    students = report["students"]
    failed = sorted(s for s, r in students.items() if not r["success"])
    parallel = {(s, cell): score for s, r in students.items() for cell, score in (r["cells"] or {}).items()
                if score is not None}
    missing = sorted({s for s, _ in sequential} - set(students))
    same = parallel == sequential and not failed and not missing
    for key in sorted(set(sequential) | set(parallel)):
        if sequential.get(key) != parallel.get(key):
            print(f"  differs: {key}: sequential {sequential.get(key)}, parallel {parallel.get(key)}")
    for student in failed:
        print(f"  not graded in parallel: {student}: {students[student]['error']}")
    for student in missing:
        print(f"  not in the parallel run's report: {student}")
    busy = sum(r["seconds"] or 0 for r in students.values())
    print(f"sequential nbgrader autograde : {t_seq:7.1f} s  (exit {seq.returncode})")
    print(f"python -m grader --jobs {args.jobs:<5}: {t_par:7.1f} s  (exit {par.returncode}; "
          f"{len(students) - len(failed)} graded, {len(failed)} failed; the workers were busy {busy:.1f} s)")
    print(f"speed-up                      : {t_seq / t_par:7.2f}x  (target >= 1.7 on 2 cores: "
          f"{'met' if t_seq / t_par >= 1.7 else 'NOT met'})")
    print(f"same grades (report vs gradebook): {same}")
    if same:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work} for inspection")


if __name__ == "__main__":
    main()
