"""`python -m grader autograde` (what `make autograde` runs) records exactly
what sequential `nbgrader autograde` records, is safe to re-run, and a
broken submission harms nobody else: not one that cannot be read, not one
whose grading kills its worker process, not one that takes too long."""
import shutil
import time

import nbformat
import psutil
import pytest

import grading
from grader.parallel import read_report
from grading_course import cell_grades, collected_course, errors_of, parallel_autograde
from harness import Course, write_config
from support import folders_of_dead_runs, run_folder
from tools.assignments import notebook_path, points_of, reference_solutions

SCRATCH_PREFIX = "pyconc-test-"
NAME = "ps2_deadlock"  # the quickest to grade (6 s for the reference, ps3 9 s); the grading path is the same for all


@pytest.mark.slow
def test_parallel_equals_sequential_and_reruns_safely(tmp_path):
    partial = grading.case(NAME, grading.module(NAME).PARTIAL)
    root = tmp_path / "parallel"
    # (no reference here: the class tests grade it; a partly right answer gives mixed cell scores)
    collected_course(root, NAME, {
        "bob": {},
        "cyd": partial.solutions,
        "dee": "{ this is not a notebook",
    })
    twin = tmp_path / "sequential"
    shutil.copytree(root, twin, symlinks=True)
    write_config(twin)  # the same course, its paths in the twin

    done = parallel_autograde(root, NAME, 2)
    assert done.returncode == 1, "a broken submission must make the run report failure"
    report = read_report(root, NAME)["students"]
    assert [s for s, r in report.items() if not r["success"]] == ["dee"], report
    assert "2 graded, 1 failed: dee" in done.stdout, done.stdout

    sequential = Course(twin)
    for student in ["bob", "cyd"]:
        sequential.autograde(NAME, student)
    parallel, reference = cell_grades(root, NAME), cell_grades(twin, NAME)
    differ = sorted({s for (s, g) in set(parallel) | set(reference) if parallel.get((s, g)) != reference.get((s, g))})
    assert parallel and not differ, "\n".join(
        [f"parallel and sequential grades differ for {differ}"]
        + [f"{s} parallel: {errors_of(root, NAME, s)}\n{s} sequential: {errors_of(twin, NAME, s)}" for s in differ])
    points = points_of(nbformat.read(notebook_path(NAME), as_version=4))
    assert {g for (s, g), v in parallel.items() if s == "cyd" and not v} == set(partial.loses), parallel
    assert sum(v for (s, _), v in parallel.items() if s == "bob") == 0 < sum(points.values())

    again = parallel_autograde(root, NAME, 2, "--student", "cyd")
    assert again.returncode == 0, again.stdout + again.stderr
    assert cell_grades(root, NAME) == parallel, "re-running must record the same grades"
    assert "database is locked" not in done.stdout + done.stderr + again.stdout + again.stderr


def test_bad_arguments_get_clear_messages(tmp_path):
    collected_course(tmp_path, NAME, {"ada": {}})
    out = parallel_autograde(tmp_path, "no_such_assignment")
    assert out.returncode != 0 and "no submissions of 'no_such_assignment'" in out.stdout
    out = parallel_autograde(tmp_path, NAME, 2, "--student", "zed")
    assert out.returncode != 0 and f"no submission of '{NAME}' for: zed" in out.stdout
    out = parallel_autograde(tmp_path, NAME, 0)
    assert out.returncode != 0 and "--jobs must be at least 1" in out.stderr


@pytest.mark.slow
def test_a_worker_killed_by_one_grading_costs_nobody_else_a_grade(tmp_path, monkeypatch):
    partial = grading.case(NAME, grading.module(NAME).PARTIAL)
    submissions = {"bob": {}, "cyd": partial.solutions, "eve": {}}
    faulty = tmp_path / "faulty"
    collected_course(faulty, NAME, submissions)
    # the suite's fault injection: the worker grading bob dies, every time (a retry too)
    monkeypatch.setenv("GRADER_TEST_KILL_WORKER_FOR", "bob")
    done = parallel_autograde(faulty, NAME, 2)
    report = read_report(faulty, NAME)["students"]
    assert not report["bob"]["success"] and "killed the worker process twice" in report["bob"]["error"], report["bob"]
    assert "bob: its worker process died; grading it again" in done.stdout, done.stdout
    assert all(report[s]["success"] for s in ("cyd", "eve"))
    # each of the others scores what it deserves (tests/grading/: the partly right one loses exactly its cells)
    points = points_of(nbformat.read(notebook_path(NAME), as_version=4))
    others = {(s, g): v for (s, g), v in cell_grades(faulty, NAME).items() if s != "bob"}
    expected = {("cyd", g): (0 if g in partial.loses else p) for g, p in points.items()}
    expected.update({("eve", g): 0 for g in points})
    assert others == expected, "the students graded beside a dying worker must keep the grades they deserve"


@pytest.fixture
def scratch(monkeypatch):
    """The grader's temporary folder for one run (TMPDIR): short, since the kernel's sockets are
    files in it, and open to traverse like /tmp, since under a closed one the sandbox gets no
    private view of the files.  Named after this process: those of a run that was killed before
    its clean-up are removed here."""
    for old in folders_of_dead_runs(SCRATCH_PREFIX):
        shutil.rmtree(old, ignore_errors=True)
    folder = run_folder(SCRATCH_PREFIX)
    monkeypatch.setenv("TMPDIR", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_timeout_bounds_each_submission_not_the_whole_run(tmp_path, scratch):
    gid = next(iter(reference_solutions(NAME)))
    # longer than --timeout, shorter than the cell limit; and a process of its own
    slow = {gid: "import subprocess, sys, time\n"
                 "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(4321.7)'])\ntime.sleep(900)\n"}
    # (a blank submission beside it: graded in seconds, well within --timeout even on a busy machine)
    collected_course(tmp_path, NAME, {"sloth": slow, "cyd": {}}, **{"Execute.timeout": 1200})
    began = time.monotonic()
    done = parallel_autograde(tmp_path, NAME, 2, "--timeout", "20")
    took = time.monotonic() - began
    report = read_report(tmp_path, NAME)["students"]
    assert not report["sloth"]["success"] and "--timeout 20 s" in report["sloth"]["error"], report["sloth"]
    assert report["cyd"]["success"], done.stdout
    assert took < 300, f"the run took {took:.0f} s: --timeout must stop the slow submission, not wait for it"
    logs = (tmp_path / "autograded" / ".logs" / NAME / "cyd.log").read_text()
    assert "no private view" not in logs, logs[-2000:]
    survivors = [p.pid for p in psutil.process_iter(["cmdline"])
                 if "4321.7" in " ".join(p.info["cmdline"] or [])]
    assert not survivors, "what the slow submission started must end with its grading"
    left = sorted(p.name for p in scratch.iterdir())
    assert not left, f"the gradings left these in the temporary folder: {left}"
