"""Autograde every submission of an assignment in parallel.

    python -m grader autograde ASSIGNMENT [--jobs N] [--student ID ...] [--root DIR]

N worker processes (default: the number of cores) each run nbgrader's own
autograde for one student after another (so the grades are exactly what
``nbgrader autograde`` records), each notebook in a sandbox with a uid of its
own.  All of them write to the
one gradebook: SQLite writes are serialised (grader.db), so no "database is
locked".  A submission that crashes, hangs or is hostile affects only its own
result; the summary lists it and the exit status is 1.  Re-running is safe:
each student's autograde is forced afresh.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# What nbgrader_config.py's RestoreTestCells (tools/quiet.py) logs when a
# student changed a locked cell; putting the hidden tests back is not logged.
CHANGED_TESTS = "was changed in the submission"


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


def _recorded_cells(cfg, assignment: str) -> dict | None:
    """{notebook: {grade id: (cell type, source or None for solutions, points)}} as the
    gradebook records `assignment`, or None when it does not know it."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(cfg.CourseDirectory.db_url, cfg.CourseDirectory.course_id) as gb:
        try:
            record = gb.find_assignment(assignment)
        except MissingEntry:
            return None
        found = {}
        for nb in record.notebooks:
            points = {g.name: float(g.max_score) for g in nb.grade_cells}
            solutions = {s.name for s in nb.solution_cells}
            found[nb.name] = {c.name: (c.cell_type, None if c.name in solutions else c.source, points.get(c.name))
                              for c in nb.source_cells}
        return found


def _source_cells(folder: Path) -> dict:
    """The same, read from the assignment's notebooks in source/."""
    import nbformat

    found = {}
    for path in sorted(folder.glob("*.ipynb")):
        cells = {}
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if not meta.get("grade_id") or not (meta.get("grade") or meta.get("solution") or meta.get("locked")):
                continue
            points = float(meta.get("points") or 0) if meta.get("grade") else None
            cells[meta["grade_id"]] = (cell.cell_type, None if meta.get("solution") else cell.source, points)
        found[path.stem] = cells
    return found


def prepare_gradebook(cfg, assignment: str, out=sys.stdout) -> bool:
    """Bring the gradebook's record of `assignment` up to date with source/, once,
    before the workers open it concurrently: create or migrate the gradebook, and,
    when it does not know the assignment or its test cells differ from source/'s,
    record them the way `nbgrader generate_assignment` does (its output goes to a
    temporary folder: release/ is left alone).  So a fresh instructor can start
    with any step, and autograde restores the hidden tests that source/ has now.
    Returns whether the gradebook had to be updated."""
    import tempfile

    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log

    root = Path(cfg.CourseDirectory.root)
    folder = root / cfg.CourseDirectory.get("source_directory", "source") / assignment
    if not folder.is_dir() or not any(folder.glob("*.ipynb")):
        have = sorted(p.parent.name for p in folder.parent.glob("*/*.ipynb"))
        raise SystemExit(f"no assignment {assignment!r} in {folder.parent} (have: {', '.join(have) or 'none'})")
    recorded = _recorded_cells(cfg, assignment)
    if recorded == _source_cells(folder):
        return False
    print(f"recording {assignment} in the gradebook ({'new' if recorded is None else 'its source/ changed'})",
          file=out, flush=True)
    with tempfile.TemporaryDirectory(prefix="pyconc-generate-") as scratch:
        local = cfg.copy()
        local.CourseDirectory.release_directory = scratch   # absolute: nbgrader writes there, not in release/
        local.CourseDirectory.assignment_id = assignment
        app = GenerateAssignment(coursedir=CourseDirectory(config=local), config=local)
        app.force = True
        result = capture_log(app)
    if not result.get("success"):
        raise SystemExit(f"could not record {assignment} in the gradebook ({cfg.CourseDirectory.db_url}):\n"
                         f"{result.get('log', '')}{result.get('error', '')}")
    return True


def grade_one(root: Path, assignment: str, student: str) -> dict:
    """Run in a worker process: nbgrader's autograde for one student, then report."""
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


def _init_worker(repo: str) -> None:
    import warnings

    # nbgrader's own SQLAlchemy warnings (harmless, one set per student) would bury the progress lines
    warnings.filterwarnings("ignore", message=r"Object of type <Submitted\w+> not in session")
    if repo not in sys.path:
        sys.path.insert(0, repo)
    from grader.db import serialize_sqlite_writes

    serialize_sqlite_writes()


def run(root: Path, assignment: str, students: list[str], jobs: int, timeout: float, out=sys.stdout) -> list[dict]:
    """Grade `students` with `jobs` long-lived worker processes (nbgrader is imported once per worker)."""
    cfg = load_config(root)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # alembic
    prepare_gradebook(cfg, assignment, out)
    logs = root / "autograded" / ".logs" / assignment
    logs.mkdir(parents=True, exist_ok=True)
    done: list[dict] = []
    start = time.monotonic()
    width = len(str(len(students)))

    def record(report: dict) -> None:
        log = report.pop("log", "")
        (logs / f"{report['student']}.log").write_text(log + report.get("error", ""))
        report["changed_tests"] = CHANGED_TESTS in log  # nbgrader restored them from source/
        done.append(report)
        flag = ""
        if not report["success"]:
            flag = "  FAILED (see autograded/.logs)"
        elif report.get("tampering"):
            flag = "  TAMPERING reported"
        elif report["changed_tests"]:
            flag = "  test cells changed by the student (graded with source/'s)"
        score = f"{report['score']:g}/{report['max_score']:g}" if report["success"] else "-"
        print(f"[{len(done):>{width}}/{len(students)}] {report['student']:<20} {score:>9} "
              f"{report['seconds']:6.1f} s{flag}", file=out, flush=True)

    print(f"autograding {assignment}: {len(students)} submissions, {jobs} at a time", file=out, flush=True)
    todo, rounds = list(students), 0
    while todo and rounds < 2:  # a second round only for those a dying worker process took down
        rounds += 1
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                                                    initargs=(str(REPO),)) as pool:
            began = {}
            futures = {}
            for student in todo:
                futures[pool.submit(_timed, root, assignment, student)] = student
                began[student] = time.monotonic()
            todo = []
            try:
                for future in concurrent.futures.as_completed(futures, timeout=timeout * len(futures)):
                    student = futures[future]
                    try:
                        record(future.result())
                    except concurrent.futures.process.BrokenProcessPool:
                        todo.append(student)
                    except Exception as exc:
                        record({"student": student, "success": False, "seconds": 0.0,
                                "error": f"{type(exc).__name__}: {exc}"})
            except concurrent.futures.TimeoutError:
                for future, student in futures.items():
                    if not future.done():
                        record({"student": student, "success": False, "seconds": timeout,
                                "error": "grading did not finish in time"})
                for proc in list(getattr(pool, "_processes", {}).values()):
                    proc.kill()
    for student in todo:
        record({"student": student, "success": False, "seconds": 0.0, "error": "its worker process died twice"})
    failed = [r["student"] for r in done if not r["success"]]
    tampered = [r["student"] for r in done if r.get("tampering")]
    changed = [r["student"] for r in done if r.get("changed_tests")]
    print(f"done in {time.monotonic() - start:.1f} s: {len(done) - len(failed)} graded, "
          f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}"
          f"{'; tampering reported for ' + ', '.join(tampered) if tampered else ''}"
          f"{'; test cells changed (and restored) for ' + ', '.join(changed) if changed else ''}",
          file=out, flush=True)
    return sorted(done, key=lambda r: r["student"])


def _timed(root: Path, assignment: str, student: str) -> dict:
    began = time.monotonic()
    try:
        report = grade_one(root, assignment, student)
    except Exception as exc:
        report = {"student": student, "success": False, "error": f"{type(exc).__name__}: {exc}"}
    report["seconds"] = time.monotonic() - began
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader", description="Parallel, sandboxed autograding.")
    sub = parser.add_subparsers(dest="command", required=True)
    auto = sub.add_parser("autograde", help="autograde every submission of an assignment")
    auto.add_argument("assignment")
    auto.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    auto.add_argument("--student", action="append", default=[], help="only these students (repeatable)")
    auto.add_argument("--root", type=Path, default=Path.cwd(), help="the course folder (default: here)")
    auto.add_argument("--timeout", type=float, default=1800, help="seconds per submission, all included")
    args = parser.parse_args(argv)
    root = args.root.resolve()
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
