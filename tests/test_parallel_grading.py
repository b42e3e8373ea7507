"""`python -m grader autograde` (what `make autograde` runs) records exactly
what sequential `nbgrader autograde` records, is safe to re-run, and a
broken submission harms nobody else."""
import shutil

import nbformat
import pytest

import grading
from grading_course import cell_grades, collected_course, errors_of, parallel_autograde
from harness import Course
from tools.assignments import notebook_path, points_of, reference_solutions

NAME = "ps3_coroutine_scheduler"  # the quickest to grade; the grading path is the same for all


@pytest.mark.slow
def test_parallel_equals_sequential_and_reruns_safely(tmp_path):
    partial = grading.case(NAME, grading.module(NAME).PARTIAL)
    root = tmp_path / "parallel"
    collected_course(root, NAME, {
        "ada": reference_solutions(NAME),
        "bob": {},
        "cyd": partial.solutions,
        "dee": "{ this is not a notebook",
    })
    twin = tmp_path / "sequential"
    shutil.copytree(root, twin, symlinks=True)
    (twin / "nbgrader_config.py").write_text(
        (root / "nbgrader_config.py").read_text().replace(str(root), str(twin)))

    done = parallel_autograde(root, NAME, 2)
    assert done.returncode == 1, "a broken submission must make the run report failure"
    assert "FAILED" in done.stdout and "dee" in done.stdout, done.stdout
    assert "3 graded, 1 failed: dee" in done.stdout, done.stdout

    sequential = Course(twin)
    for student in ["ada", "bob", "cyd"]:
        sequential.autograde(NAME, student)
    parallel, reference = cell_grades(root, NAME), cell_grades(twin, NAME)
    differ = sorted({s for (s, g) in set(parallel) | set(reference) if parallel.get((s, g)) != reference.get((s, g))})
    assert parallel and not differ, "\n".join(
        [f"parallel and sequential grades differ for {differ}"]
        + [f"{s} parallel: {errors_of(root, NAME, s)}\n{s} sequential: {errors_of(twin, NAME, s)}" for s in differ])
    total = sum(points_of(nbformat.read(notebook_path(NAME), as_version=4)).values())
    assert sum(v for (s, _), v in parallel.items() if s == "ada") == total

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
