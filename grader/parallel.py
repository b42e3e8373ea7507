"""Autograde every submission of an assignment in parallel.

    python -m grader autograde ASSIGNMENT [--jobs N] [--student ID ...] [--root DIR] [--timeout S]

N worker processes (default: the number of cores) each run nbgrader's own
autograde for one student after another (so the grades are exactly what
``nbgrader autograde`` records), each notebook in the sandbox (grader.execute).
All of them write to the one gradebook: SQLite writes are serialised
(grader.db), so no "database is locked".

One student's submission never costs another student a grade:

* each worker grades one student at a time, and the worker that died while
  grading a student is replaced; that student (and only that student) is
  graded once more, on a fresh worker, and reported as failed if its worker
  dies again;
* ``--timeout`` bounds each submission's grading, all included: a worker
  still busy with a student after that long is killed with everything it
  started (the sandbox's processes die with it) and replaced, and that
  student is reported as not graded in time.

Results are written as they come to ``autograded/.logs/<assignment>/report.json``
(per student: score, score per test cell, seconds, tampering findings, errors;
see ``write_report``), beside each student's nbgrader log; the summary on the
terminal, the tests and the benchmark read that file.  Re-running is safe: each
student's autograde is forced afresh.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import json
import multiprocessing
import multiprocessing.connection
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil

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
            report["cells"] = {grade.name: grade.score for nb in sub.notebooks for grade in nb.grades}
    folder = root / "autograded" / student / assignment
    report["tampering"] = []
    with contextlib.suppress(OSError, ValueError):
        report["tampering"] = json.loads((folder / "tampering.json").read_text()).get("findings", []) or ["reported"]
    return report


def _init_worker(scratch: str) -> None:
    import warnings

    # the sandbox's folders of each grading go in the worker's own scratch folder, which the
    # main process removes when the worker ends, however it ends (killed at --timeout, or dead)
    tempfile.tempdir = scratch

    # nbgrader's own SQLAlchemy warnings (harmless, one set per student) would bury the progress lines
    warnings.filterwarnings("ignore", message=r"Object of type <Submitted\w+> not in session")
    # the main process's ends of the pipes to the workers forked before this one: only it may hold
    # them, so that a worker sees its pipe close when the main process ends
    for end in _MAIN_ENDS:
        end.close()
    from grader.db import serialize_sqlite_writes

    serialize_sqlite_writes()


_MAIN_ENDS: list = []  # the main process's ends of the workers' pipes (a forked worker closes its copies)


class _Worker:
    """A worker process that grades one student at a time, sent over a pipe."""

    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        _MAIN_ENDS.append(self.conn)
        # (others may pass through it, as through /tmp, but not list it: the sandbox's private
        # view masks the closed folders on the way to the kernel's, and may not mask this one,
        # which holds the view's staging folder)
        self.scratch = tempfile.mkdtemp(prefix="pyconc-worker-")
        os.chmod(self.scratch, 0o711)
        self.proc = ctx.Process(target=_serve, args=(child, self.scratch), daemon=True, name="grader-worker")
        self.proc.start()
        child.close()
        self.student, self.started = None, 0.0

    def give(self, job: tuple) -> None:
        self.student, self.started = job[2], time.monotonic()
        self.conn.send(job)

    def stop(self) -> None:
        """Kill the worker and everything it started (the sandbox's processes die with it)."""
        with contextlib.suppress(psutil.Error):
            family = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
            for proc in family:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            psutil.wait_procs(family, timeout=10)
        self.proc.join(5)
        self.end()

    def end(self) -> None:
        """Once the worker has exited (run() ends each worker once): close its pipe, remove what its
        gradings left in its scratch folder (a grading cut short leaves its sandbox's folders;
        rmtree does not follow links)."""
        self.conn.close()
        _MAIN_ENDS.remove(self.conn)
        shutil.rmtree(self.scratch, ignore_errors=True)


def _serve(conn, scratch: str) -> None:
    """A worker process: grade what comes down the pipe, one student at a time."""
    _init_worker(scratch)
    doomed = set(filter(None, os.environ.get("GRADER_TEST_KILL_WORKER_FOR", "").split(",")))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        if job[2] in doomed:  # fault injection for the suite: this student's grading kills its worker
            os._exit(9)
        conn.send(_timed(*job))


def run(root: Path, assignment: str, students: list[str], jobs: int, timeout: float, out=sys.stdout) -> list[dict]:
    """Grade `students` with `jobs` long-lived worker processes, forked from this one once it has
    imported nbgrader (about 2 s of CPU that each worker would otherwise spend again)."""
    cfg = load_config(root)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # alembic
    prepare_gradebook(cfg, assignment, out)
    logs = root / "autograded" / ".logs" / assignment
    logs.mkdir(parents=True, exist_ok=True)
    done: list[dict] = []
    start = time.monotonic()
    width = len(str(len(students)))
    meta = {"assignment": assignment, "jobs": jobs, "timeout": timeout,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}

    def record(report: dict) -> None:
        log = report.pop("log", "")
        (logs / f"{report['student']}.log").write_text(log + report.get("error", ""))
        report["changed_tests"] = CHANGED_TESTS in log  # nbgrader restored them from source/
        done.append(report)
        write_report(logs / "report.json", meta, done)
        flag = ""
        if not report["success"]:
            flag = f"  FAILED: {report.get('error', '').strip().splitlines()[-1][:80] if report.get('error') else 'see autograded/.logs'}"
        elif report.get("tampering"):
            flag = "  TAMPERING reported"
        elif report["changed_tests"]:
            flag = "  test cells changed by the student (graded with source/'s)"
        score = f"{report['score']:g}/{report['max_score']:g}" if report["success"] else "-"
        print(f"[{len(done):>{width}}/{len(students)}] {report['student']:<20} {score:>9} "
              f"{report['seconds']:6.1f} s{flag}", file=out, flush=True)

    print(f"autograding {assignment}: {len(students)} submissions, {jobs} at a time", file=out, flush=True)
    # Workers are forked: this process has no other thread and no open gradebook (prepare_gradebook
    # closed it), and each worker opens its own; what it imports here, workers start with.
    import nbgrader.apps.api  # noqa: F401  (grade_one's imports)
    ctx = multiprocessing.get_context("fork")
    pending = collections.deque((root, assignment, student) for student in students)
    deaths: collections.Counter = collections.Counter()
    workers: list[_Worker] = []
    try:
        while pending or any(w.student for w in workers):
            while pending and (len(workers) < jobs or any(w.student is None for w in workers)):
                idle = next((w for w in workers if w.student is None), None)
                if idle is None:
                    idle = _Worker(ctx)
                    workers.append(idle)
                idle.give(pending.popleft())
            busy = [w for w in workers if w.student]
            first_due = min(w.started + timeout for w in busy)
            ready = multiprocessing.connection.wait(
                [w.conn for w in busy] + [w.proc.sentinel for w in busy],
                timeout=max(0.0, first_due - time.monotonic()))
            for worker in busy:
                student = worker.student
                if worker.conn in ready:
                    try:
                        report = worker.conn.recv()
                    except (EOFError, OSError):
                        report = None
                    if report is not None:
                        worker.student = None
                        record(report)
                        continue
                if worker.proc.sentinel in ready or not worker.proc.is_alive():
                    deaths[student] += 1
                    worker.stop()
                    workers.remove(worker)
                    if deaths[student] < 2:
                        print(f"{'':>{2 * width + 3}} {student}: its worker process died; grading it again "
                              "on a fresh one", file=out, flush=True)
                        pending.appendleft((root, assignment, student))
                    else:
                        record({"student": student, "success": False, "seconds": time.monotonic() - worker.started,
                                "error": "its grading killed the worker process twice"})
                elif time.monotonic() >= worker.started + timeout:
                    worker.stop()
                    workers.remove(worker)
                    record({"student": student, "success": False, "seconds": time.monotonic() - worker.started,
                            "error": f"grading did not finish within --timeout {timeout:g} s"})
    finally:
        for worker in workers:
            with contextlib.suppress(OSError, BrokenPipeError):
                worker.conn.send(None)
        for worker in workers:
            worker.proc.join(10)
            if worker.proc.is_alive():
                worker.stop()
            else:
                worker.end()
    failed = [r["student"] for r in done if not r["success"]]
    tampered = [r["student"] for r in done if r.get("tampering")]
    changed = [r["student"] for r in done if r.get("changed_tests")]
    meta["seconds"] = round(time.monotonic() - start, 1)
    write_report(logs / "report.json", meta, done)
    print(f"done in {time.monotonic() - start:.1f} s: {len(done) - len(failed)} graded, "
          f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}"
          f"{'; tampering reported for ' + ', '.join(tampered) if tampered else ''}"
          f"{'; test cells changed (and restored) for ' + ', '.join(changed) if changed else ''}"
          f"\n(per student: {logs / 'report.json'})", file=out, flush=True)
    return sorted(done, key=lambda r: r["student"])


def write_report(path: Path, meta: dict, reports: list[dict]) -> None:
    """autograded/.logs/<assignment>/report.json, replaced atomically:

    {"assignment", "jobs", "timeout", "started", "seconds" (when done),
     "students": {student: {"success", "score", "max_score", "cells": {grade id: score},
                            "seconds", "tampering": [findings], "changed_tests", "error"}}}
    """
    students = {}
    for report in sorted(reports, key=lambda r: r["student"]):
        students[report["student"]] = {key: report.get(key) for key in
                                       ("success", "score", "max_score", "cells", "seconds", "tampering",
                                        "changed_tests", "error")}
    body = json.dumps({**meta, "students": students}, indent=1, sort_keys=True)
    partial = path.with_suffix(".json.part")
    partial.write_text(body)
    os.replace(partial, path)


def read_report(root: Path, assignment: str) -> dict:
    """What write_report wrote for `assignment` under the course folder `root`."""
    return json.loads((root / "autograded" / ".logs" / assignment / "report.json").read_text())


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
