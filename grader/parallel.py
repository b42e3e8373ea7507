"""Autograde every submission of an assignment in parallel.

    python -m grader autograde ASSIGNMENT [--jobs N] [--student ID ...] [--root DIR]

One process per student runs nbgrader's own autograde (so the grades are
exactly what ``nbgrader autograde`` records), at most N at a time (default:
the number of cores), each in a sandbox with a uid of its own.  All of them write to the
one gradebook: SQLite writes are serialised (grader.db), so no "database is
locked".  A submission that crashes, hangs or is hostile affects only its own
result; the summary lists it and the exit status is 1.  Re-running is safe:
each student's autograde is forced afresh.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def load_config(root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    path = root / "nbgrader_config.py"
    if not path.exists():
        raise SystemExit(f"no nbgrader_config.py in {root}: run this from the course folder or pass --root")
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    cfg.CourseDirectory.root = str(root)
    return cfg


def submitted_students(root: Path, assignment: str) -> list[str]:
    base = root / "submitted"
    return sorted(p.name for p in base.iterdir() if (p / assignment).is_dir()) if base.is_dir() else []


def prepare_gradebook(cfg, assignment: str) -> None:
    """Create or migrate the gradebook once, before the workers open it concurrently."""
    from nbgrader.api import Gradebook, MissingEntry

    url = cfg.CourseDirectory.db_url
    with Gradebook(url, cfg.CourseDirectory.course_id) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise SystemExit(
                f"assignment {assignment!r} is not in the gradebook ({url}): "
                f"generate it first (make generate A={assignment})"
            ) from None


def grade_one(root: Path, assignment: str, student: str) -> dict:
    """Run in a worker process: nbgrader's autograde for one student, then report."""
    from grader.db import serialize_sqlite_writes

    serialize_sqlite_writes()
    from nbgrader.api import Gradebook
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory

    cfg = load_config(root)
    os.chdir(root)
    api = NbGraderAPI(CourseDirectory(config=cfg), Authenticator(config=cfg), config=cfg)
    result = api.autograde(assignment, student)
    report = {"student": student, "success": bool(result.get("success")), "log": result.get("log", ""),
              "error": result.get("error", "")}
    if report["success"]:
        with Gradebook(cfg.CourseDirectory.db_url, cfg.CourseDirectory.course_id) as gb:
            sub = gb.find_submission(assignment, student)
            report["score"], report["max_score"] = sub.score, sub.max_score
    folder = root / "autograded" / student / assignment
    report["tampering"] = (folder / "tampering.json").exists()
    return report


def run(root: Path, assignment: str, students: list[str], jobs: int, timeout: float, out=sys.stdout) -> list[dict]:
    cfg = load_config(root)
    prepare_gradebook(cfg, assignment)
    logs = root / "autograded" / ".logs" / assignment
    logs.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    done: list[dict] = []
    start = time.monotonic()

    def one(student: str) -> dict:
        began = time.monotonic()
        env = dict(os.environ,
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                   PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
        cmd = [sys.executable, "-m", "grader", "_one", assignment, student, "--root", str(root)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=root)
            lines = proc.stdout.strip().splitlines()
            report = json.loads(lines[-1]) if proc.returncode == 0 and lines else {
                "student": student, "success": False,
                "error": f"grading process exited with {proc.returncode}:\n{proc.stderr[-2000:]}"}
            log_text = proc.stderr + report.pop("log", "") + report.get("error", "")
        except subprocess.TimeoutExpired as exc:
            report = {"student": student, "success": False, "error": f"grading took over {timeout} s"}
            log_text = str(exc.stderr or "")
        (logs / f"{student}.log").write_text(log_text)
        report["seconds"] = time.monotonic() - began
        with lock:
            done.append(report)
            flag = ""
            if not report["success"]:
                flag = "  FAILED (see autograded/.logs)"
            elif report.get("tampering"):
                flag = "  TAMPERING reported"
            score = f"{report['score']:g}/{report['max_score']:g}" if report["success"] else "-"
            print(f"[{len(done):>{len(str(len(students)))}}/{len(students)}] {student:<20} {score:>9} "
                  f"{report['seconds']:6.1f} s{flag}", file=out, flush=True)
        return report

    print(f"autograding {assignment}: {len(students)} submissions, {jobs} at a time", file=out, flush=True)
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, students))
    failed = [r["student"] for r in done if not r["success"]]
    tampered = [r["student"] for r in done if r.get("tampering")]
    print(f"done in {time.monotonic() - start:.1f} s: {len(done) - len(failed)} graded, "
          f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}"
          f"{'; tampering reported for ' + ', '.join(tampered) if tampered else ''}", file=out, flush=True)
    return sorted(done, key=lambda r: r["student"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader", description="Parallel, sandboxed autograding.")
    sub = parser.add_subparsers(dest="command", required=True)
    auto = sub.add_parser("autograde", help="autograde every submission of an assignment")
    auto.add_argument("assignment")
    auto.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    auto.add_argument("--student", action="append", default=[], help="only these students (repeatable)")
    auto.add_argument("--root", type=Path, default=Path.cwd(), help="the course folder (default: here)")
    auto.add_argument("--timeout", type=float, default=1800, help="seconds per submission, all included")
    one = sub.add_parser("_one", help=argparse.SUPPRESS)
    one.add_argument("assignment")
    one.add_argument("student")
    one.add_argument("--root", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.command == "_one":
        print(json.dumps(grade_one(root, args.assignment, args.student)))
        return 0
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    students = args.student or submitted_students(root, args.assignment)
    if not students:
        print(f"no submissions of {args.assignment!r} in {root / 'submitted'}: run `make collect A={args.assignment}` first")
        return 1
    missing = [s for s in students if not (root / "submitted" / s / args.assignment).is_dir()]
    if missing:
        print(f"no submission of {args.assignment!r} for: {', '.join(missing)}")
        return 1
    reports = run(root, args.assignment, students, args.jobs, args.timeout)
    return 0 if all(r["success"] for r in reports) else 1
