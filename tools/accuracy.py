"""Grade an assignment's mistakes and alternatives one at a time (``make accuracy A=<assignment>``).

    python -m tools.accuracy NAME                 # the cases of NAME listed in tests/grading/ACCURACY-PENDING
    python -m tools.accuracy NAME CASE [CASE ...] # these cases (names as in tests/grading/NAME/)
    python -m tools.accuracy NAME --all           # every case
    ... [--repeat N]                              # grade each case N times (a grade that flips shows)

Each case is graded alone, the way autograde grades it (the sandbox, nbgrader's Execute,
the hidden tests, the suite's time limits: ``tests/harness.py`` ``grade_cells``), so a
case's timing cells see a machine that grades nothing else; run it on a quiet machine.
The suite grades a whole class at once and leaves out the cases listed in ACCURACY-PENDING,
whose timing cells flip under that load: this is where they are graded until they are settled.

For each grading it prints the cells the case must lose and those it lost, and the error of
every test cell whose grade differs from that.  Exit status 0 when every grading lost exactly
its cells, 1 when one did not, 2 for a bad argument.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from tools.instructor import check_assignment  # noqa: E402


def errors(nb, cells) -> list[str]:
    """`cell: ErrorName: message` for each of `cells` in the executed notebook `nb`."""
    found = []
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in cells:
            shown = [f"{o.get('ename')}: {str(o.get('evalue'))[:400]}" for o in cell.get("outputs", [])
                     if o.get("output_type") == "error"]
            shown += [f"stderr: {o.get('text', '')[:300]}" for o in cell.get("outputs", [])
                      if o.get("output_type") == "stream" and o.get("name") == "stderr"]
            found.append(f"{gid}: {'; '.join(shown) or 'kept its points'}")
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.accuracy", description=__doc__.split("\n")[0])
    parser.add_argument("name", help="the assignment")
    parser.add_argument("cases", nargs="*", help="cases to grade (default: those listed in ACCURACY-PENDING)")
    parser.add_argument("--all", action="store_true", help="grade every case of the assignment")
    parser.add_argument("--repeat", type=int, default=1, help="grade each case this many times (default 1)")
    args = parser.parse_args(argv)
    problem = check_assignment("accuracy", args.name)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if args.repeat < 1:
        print("--repeat must be at least 1", file=sys.stderr)
        return 2

    import grading
    from harness import grade_cells

    known = {case.name: case for case in grading.cases(args.name)}
    if args.all:
        chosen = list(known)
    elif args.cases:
        unknown = [c for c in args.cases if c not in known]
        if unknown:
            print(f"{args.name} has no case {', '.join(unknown)}; it has: {', '.join(known)}", file=sys.stderr)
            return 2
        chosen = args.cases
    else:
        chosen = [case for (name, case) in grading.accuracy_pending() if name == args.name]
        if not chosen:
            print(f"ACCURACY-PENDING lists no case of {args.name}: name the cases, or --all")
            return 0
    differ = 0
    for name in chosen:
        case = known[name]
        # the suite's limits (a cell's time, the notebook's, memory) or the case's own, set on the grader itself
        limits = {key.split(".", 1)[1]: value for key, value in grading.case_limits(case).items()}
        for turn in range(args.repeat):
            began = time.monotonic()
            kept: list = []
            with tempfile.TemporaryDirectory(prefix="accuracy-") as folder:
                scores = grade_cells(args.name, case.solutions, Path(folder), keep=kept,
                                     sandbox=limits)
            lost = {cell for cell, points in scores.items() if not points}
            ok = lost == set(case.loses)
            differ += not ok
            print(f"{'ok  ' if ok else 'DIFF'} {name}{f' (run {turn + 1})' if args.repeat > 1 else ''}: "
                  f"must lose {sorted(case.loses) or 'nothing'}, lost {sorted(lost) or 'nothing'} "
                  f"({time.monotonic() - began:.0f} s)", flush=True)
            if not ok and kept:
                for line in errors(kept[0], lost ^ set(case.loses)):
                    print(f"     {line}", flush=True)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
