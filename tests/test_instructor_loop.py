"""The instructor's loop as people use it: the README's make commands on a
fresh copy of the course, a student who submits again, the Formgrader's own
code path, and what the student then reads (feedback, Validate).

* ``make help`` lists every target; a missing or unknown assignment and an
  unknown target get messages that say what to do, and a non-zero exit.
* On a fresh copy (no gradebook): ``make lab``'s set-up, then ``make release``,
  ``collect``, ``autograde``, ``feedback`` and ``grades`` work with no other
  step.  A student submits a partly correct notebook, is graded, submits
  again: the second submission is collected, graded, and its feedback is the
  one the student fetches; grades.csv has the new time.  Then the same again
  through nbgrader's API as the Formgrader's buttons call it.
* Feedback names every part and test cell, puts a summary first, gives each
  failure its message, and holds no hidden-test code unless the instructor asks
  for it: checked (tests/feedback_checks.py) on the pages `make feedback` makes in
  the loop below.  Every assignment's partly correct student, its feedback and its
  Validate, is checked the same way in tests/test_autograding.py's classes (ps2's
  Validate there is the one a student of this loop would see).
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

import grading
from feedback_checks import (check_feedback, gradebook_scores, graded_cells, hidden_only_lines,
                             page_text)
from harness import Course, fill_solutions
from labserver import copy_course
from tools.assignments import ROOT, assignments, notebook_path, points_of, reference_solutions
from tools.settings import COURSE_ID, MOVABLE

LOOP = "ps2_deadlock"   # the quickest to grade (6 s for the reference, ps3 9 s); every step is the same for all


def make(root: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """`make ARGS` in `root` with the repository's environment.  STAMP= and
    TEST_STAMP= drop the install prerequisites: a test never installs anything.  The
    variables of the `make test` that runs the suite (ARGS=..., exported and passed down in MAKEFLAGS)
    are not this make's."""
    env = {k: v for k, v in os.environ.items() if k not in MOVABLE and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "ARGS", "A")}
    return subprocess.run(["make", "--no-print-directory", "-C", str(root), *args, f"VENV={ROOT / '.venv'}",
                           "STAMP=", "TEST_STAMP="], capture_output=True, text=True, env=env, timeout=timeout)


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="`make` is not installed")


# --- commands that say what to do ------------------------------------------------

def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, re.M)}


@needs_make
def test_make_help_lists_every_target_once():
    out = make(ROOT, "help")
    assert out.returncode == 0, out.stderr
    listed = [line.split()[0] for line in out.stdout.splitlines() if line.startswith("  ")]
    assert sorted(listed) == sorted(makefile_targets()), \
        f"make help lists {sorted(listed)}, the Makefile defines {sorted(makefile_targets())}"
    assert all(len(line.split()) > 1 for line in out.stdout.splitlines() if line.startswith("  ")), \
        "every target needs a description"
    assert f"assignments: {' '.join(assignments())}" in out.stdout


def needing_an_assignment() -> list[str]:
    """The targets whose `make help` line starts with "A=...:"."""
    text = (ROOT / "Makefile").read_text()
    return sorted(re.findall(r'^\t@echo "  ([\w-]+)\s+A=\.\.\.:', text, re.M))


def test_the_steps_that_need_an_assignment_are_known():
    assert {"release", "collect", "autograde", "feedback"} <= set(needing_an_assignment())


@needs_make
@pytest.mark.parametrize("target", needing_an_assignment())
def test_a_step_without_an_assignment_says_which_exist(target):
    have = ", ".join(assignments())
    out = make(ROOT, target)
    said = out.stdout + out.stderr
    assert out.returncode != 0 and f"A=<assignment> is required; have: {have}" in said, said
    out = make(ROOT, target, "A=no_such_assignment")
    said = out.stdout + out.stderr
    assert out.returncode != 0 and "no_such_assignment" in said and f"have: {have}" in said, said


@needs_make
def test_generate_with_an_unknown_assignment_says_which_exist():
    out = make(ROOT, "generate", "A=no_such_assignment")
    assert out.returncode != 0 and f"have: {', '.join(assignments())}" in out.stdout + out.stderr


@needs_make
def test_a_typo_points_to_make_help():
    out = make(ROOT, "autograd")
    assert out.returncode != 0 and "there is no target 'autograd'" in out.stderr and "make help" in out.stderr


# --- the loop, with a resubmission -------------------------------------------------------

def fresh_course(dest: Path) -> Path:
    root = copy_course(dest)
    shutil.copy2(ROOT / "Makefile", root / "Makefile")
    for req in ROOT.glob("requirements*.txt"):
        shutil.copy2(req, root / req.name)
    return root


def submit(course: Course, student: str, solutions: dict) -> str:
    """The student puts `solutions` in their notebook and submits; returns nbgrader's timestamp."""
    folder = course.home(student) / LOOP
    if not folder.exists():
        course.fetch(student, LOOP)
    path = notebook_path(LOOP, course.home(student))
    nbformat.write(fill_solutions(nbformat.read(path, as_version=4), solutions), path)
    course.submit(student, LOOP)
    cache = course.home(student) / ".nbgrader-cache" / COURSE_ID
    return max(p.name.split("+")[2] for p in cache.iterdir())


def latest_feedback(course: Course, student: str) -> tuple[str, str]:
    """(timestamp, page) of the newest feedback the student has fetched."""
    folder = course.fetch_feedback(student, LOOP)
    newest = max(p for p in folder.iterdir() if p.is_dir())
    return newest.name, next(newest.glob("*.html")).read_text()


def score_on(page: str) -> float:
    m = re.search(r"\(Score:\s*([\d.]+)\s*/\s*([\d.]+)\)", page)
    assert m, "no score on the feedback page"
    return float(m.group(1))


def ran(out: subprocess.CompletedProcess, what: str) -> str:
    assert out.returncode == 0, f"{what} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout + out.stderr


@needs_make
@pytest.mark.slow
def test_resubmission_wins_by_make_and_by_the_formgraders_code(tmp_path):
    root = fresh_course(tmp_path / "course")
    total = sum(points_of(nbformat.read(notebook_path(LOOP), as_version=4)).values())
    partial = grading.case(LOOP, grading.module(LOOP).PARTIAL)
    lost = sum(points_of(nbformat.read(notebook_path(LOOP), as_version=4))[c] for c in partial.loses)

    # make lab's set-up (it releases every assignment), on a course without a gradebook
    assert not (root / "gradebook.db").exists()
    ran(make(root, "lab", "ARGS=--version"), "make lab")
    course = Course(root)
    out = ran(make(root, "release", f"A={LOOP}"), "make release")
    assert "already in the exchange" in out, out

    # 1. a partly correct submission, graded with the README's commands in order
    first = submit(course, "ada", partial.solutions)
    ran(make(root, "collect", f"A={LOOP}"), "make collect")
    out = ran(make(root, "autograde", f"A={LOOP}"), "make autograde")
    assert re.search(rf"ada\s+{total - lost:g}/{total:g}", out), out
    logs = out + (root / "autograded" / ".logs" / LOOP / "ada.log").read_text()
    assert "Attribute 'checksum'" not in logs, "restoring the hidden tests must not warn"
    ran(make(root, "feedback", f"A={LOOP}"), "make feedback")
    stamp, page = latest_feedback(course, "ada")
    assert score_on(page) == total - lost
    check_feedback(page, LOOP, notebook_path(LOOP, root / "autograded" / "ada"), gradebook_scores(root, LOOP, "ada"))

    # the instructor may show the hidden tests' code
    ran(make(root, "feedback", f"A={LOOP}", "ARGS=--CourseFeedback.show_hidden_tests=True"), "make feedback")
    full = next((root / "feedback" / "ada" / LOOP).glob("*.html")).read_text()
    assert "BEGIN HIDDEN TESTS" in full
    assert hidden_only_lines(LOOP) <= {line.strip() for line in page_text(full).splitlines()}

    # 2. the student submits again: the second submission is what counts
    second = submit(course, "ada", reference_solutions(LOOP))
    assert second > first
    out = ran(make(root, "collect", f"A={LOOP}"), "make collect")
    assert "Updating submission" in out, out
    out = ran(make(root, "autograde", f"A={LOOP}"), "make autograde")
    assert re.search(rf"ada\s+{total:g}/{total:g}", out), out
    ran(make(root, "feedback", f"A={LOOP}"), "make feedback")
    stamp, page = latest_feedback(course, "ada")
    assert score_on(page) == total, "the feedback of the second submission must win"
    assert "BEGIN HIDDEN TESTS" not in page
    ran(make(root, "grades"), "make grades")
    rows = [r for r in csv.DictReader(open(root / "grades.csv")) if r["student_id"] == "ada"]
    assert len(rows) == 1 and float(rows[0]["score"]) == total, rows
    assert rows[0]["timestamp"].startswith(second.replace(" UTC", "")[:19]), (rows, second)

    # 3. once more through nbgrader's API, the way the Formgrader's buttons call it
    third = submit(course, "ada", partial.solutions)
    api = course.api()
    for step, result in [("collect", lambda: api.collect(LOOP)), ("autograde", lambda: api.autograde(LOOP, "ada")),
                         ("generate_feedback", lambda: api.generate_feedback(LOOP)),
                         ("release_feedback", lambda: api.release_feedback(LOOP))]:
        done = result()
        assert done["success"], f"{step}: {done.get('error')}\n{done.get('log')}"
        if step == "autograde":
            assert "[DEBUG]" not in done["log"] and "Attribute 'checksum'" not in done["log"], done["log"][:3000]
    assert sum(gradebook_scores(root, LOOP, "ada").values()) == total - lost
    stamp, page = latest_feedback(course, "ada")
    assert score_on(page) == total - lost, "the Formgrader's path must grade and return the third submission"
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        assert str(gb.find_submission(LOOP, "ada").timestamp).startswith(third.replace(" UTC", "")[:19])


# --- a fresh instructor, a quiet submit --------------------------------------------------

def test_any_step_brings_the_gradebook_up_to_date(tmp_path):
    """prepare_gradebook (run by every make step and by python -m grader autograde)
    records an assignment the gradebook does not know, does nothing when it is
    current, and records it again when a test cell in source/ changed."""
    from grader.parallel import prepare_gradebook

    course = Course(tmp_path)
    course.add_source(LOOP)
    cfg = course.config()
    assert prepare_gradebook(cfg, LOOP, out=open(os.devnull, "w")) is True
    with Gradebook(cfg.CourseDirectory.db_url, COURSE_ID) as gb:
        cells = {c.name for c in gb.find_notebook(notebook_path(LOOP).stem, LOOP).grade_cells}
    assert cells == set(points_of(nbformat.read(notebook_path(LOOP), as_version=4)))
    assert prepare_gradebook(cfg, LOOP, out=open(os.devnull, "w")) is False, "a current gradebook is left alone"
    assert not (tmp_path / "release").exists(), "release/ is not written"

    path = notebook_path(LOOP, tmp_path / "source")
    nb = nbformat.read(path, as_version=4)
    grade_id, _, source = graded_cells(nb)[0]
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    cell.source = source + "\nassert True, 'a new check'"
    nbformat.write(nb, path)
    assert prepare_gradebook(cfg, LOOP, out=open(os.devnull, "w")) is True
    with Gradebook(cfg.CourseDirectory.db_url, COURSE_ID) as gb:
        assert gb.find_source_cell(grade_id, path.stem, LOOP).source == cell.source

    with pytest.raises(SystemExit, match=f"have: {LOOP}"):
        prepare_gradebook(cfg, "no_such_assignment")


def test_submit_says_nothing_about_checkpoints(tmp_path):
    """JupyterLab keeps .ipynb_checkpoints/ copies beside a notebook; nbgrader's submit
    warned that they were extra notebooks.  Submitting through the exchange class the
    Assignment List uses (nbgrader_config.py's ExchangeFactory.submit) does not."""
    import logging

    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import ExchangeFactory

    course = Course(tmp_path)
    course.add_source(LOOP)
    course.generate(LOOP)
    course.release(LOOP)
    folder = course.fetch("ada", LOOP)
    checkpoints = folder / ".ipynb_checkpoints"
    checkpoints.mkdir()
    shutil.copy2(notebook_path(LOOP, folder.parent), checkpoints / f"{notebook_path(LOOP).stem}-checkpoint.ipynb")
    (folder / "extra.ipynb").write_text((checkpoints / f"{notebook_path(LOOP).stem}-checkpoint.ipynb").read_text())

    cfg = course.config("ada")
    cfg.CourseDirectory.assignment_id = LOOP
    submit = ExchangeFactory(config=cfg).Submit(coursedir=CourseDirectory(config=cfg),
                                               authenticator=Authenticator(config=cfg), config=cfg)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    submit.log.addHandler(handler)
    try:
        submit.start()
    finally:
        submit.log.removeHandler(handler)
    warnings = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    assert not any("checkpoint" in w for w in warnings), warnings
    assert any("extra.ipynb" in w for w in warnings), f"a real extra notebook is still reported: {warnings}"
