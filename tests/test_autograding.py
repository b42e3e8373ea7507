"""Each assignment, graded once the way an instructor grades it.

One class of simulated students per assignment (their own ids, homes and
nbgrader caches, a temporary exchange) fetches, submits and is collected;
then ``python -m grader autograde`` (what ``make autograde`` runs: parallel
workers, every notebook in the sandbox) grades them all together.  The class
holds, side by side:

* the nbgrader loop: the reference solution (full marks), the blank release
  (0 in every test cell) and a partly correct submission (exactly the partial
  score), followed by feedback for them and the CSV export;
* grading accuracy: a different correct implementation (full marks) and the
  common mistakes, each losing exactly the test cells it breaks;
* hostile submissions (tests/hostile.py): hangs, bombs, escapes, floods and
  tampering.  Each ends within its bound with 0 points, tricks are reported,
  nothing outside its folder changes, nothing it started survives.

Grading them in one run is itself the strongest check that a hostile
submission cannot change anybody else's grade: every honest or mistaken
submission is graded beside the hostile ones and must still score exactly
what it deserves.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
import pytest

import grading
from grading import LIMITS
from assignment_classes import per_assignment
from feedback_checks import check_feedback, check_validation, gradebook_scores
from grader.parallel import read_report
from grading_course import cell_grades, collected_course, errors_of, parallel_autograde
from harness import validate
from hostile import ESCAPE_ATTEMPTS, GRADED_WITH, cases as hostile_cases, marker
from tools.assignments import assignments, notebook_path, points_of, reference_solutions

JOBS = 5  # much of a grading is waiting (sleeps, timeouts): five overlap well on two cores
# The hostile cases that hang (tests/hostile.py) are graded beside the class, in a course of their
# own whose cells stop after a few seconds: what they show (the cell limit stops the hang, the
# kernel that ignores the interrupt is stopped, 0 points, nothing survives) does not depend on how
# long the limit is, and two of them spin a core for all of it.
HANG_LIMITS = {**LIMITS, "Execute.timeout": 2, "SandboxedExecute.interrupt_grace": 2}
# A run that finds the record current grades about 25 submissions per assignment (2 minutes);
# one that must grade every case again (the grader or an assignment changed) about 120.
GRADING_RUN_TIMEOUT = 3600


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def first_solution(name: str) -> tuple[str, str]:
    """(grade id, prefix): hostile code goes in the first solution cell."""
    gid, source = next(iter(reference_solutions(name).items()))
    head = source.splitlines()[0]
    return gid, head + "\n" if head.startswith("%%writefile") else ""


@dataclass
class Graded:
    """A course after one `python -m grader autograde` of the whole class."""
    name: str
    root: Path
    course: object
    total: float
    points: dict
    expected: dict                   # student -> test cells it must lose
    hostile: dict                    # student -> hostile.Hostile
    report: dict                     # student -> progress-line match
    grades: dict                     # (student, cell) -> points
    watched: dict = field(default_factory=dict)   # path -> sha256 before grading
    modes: dict = field(default_factory=dict)     # folder -> mode before grading
    knocked: list = field(default_factory=list)   # connections a submission made to our listener
    regraded: list = field(default_factory=list)  # cases graded in this run: their record was missing or stale
    record_changed: bool = False                  # this run rewrote tests/grading/<name>/GRADES.json
    pending: dict = field(default_factory=dict)   # (assignment, case) -> reason, from ACCURACY-PENDING
    elsewhere: dict = field(default_factory=dict) # student -> the course that graded it, if not root (its own limits)

    def score(self, student: str) -> float:
        return sum(v for (who, _), v in self.grades.items() if who == student)

    def lost(self, student: str) -> set[str]:
        return {cell for (who, cell), v in self.grades.items() if who == student and not v}

    def why(self, student: str) -> str:
        if self.report.get(student, {}).get("recorded"):
            return (f"{self.report[student]}\n(the grade recorded for these inputs in "
                    f"{grading.record_path(self.name).relative_to(grading.REPO)}: delete its entry to grade it again "
                    "and see the errors)")
        return f"{self.report.get(student, 'not graded')}\n" \
               + "\n".join(errors_of(self.elsewhere.get(student, self.root), self.name, student)[:12])


def student_of(case_name: str, partial: str) -> str:
    return "partial" if case_name == partial else f"case-{case_name}"


def grade_the_class(name: str, base: Path) -> Graded:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    knocked, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            try:
                knocked.append(listener.accept())
            except OSError:
                pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()

    base.chmod(0o700)  # a closed folder on the way: the sandbox must get through without opening it
    root = base / "course"
    canary = base / "canary.txt"
    canary.write_text("untouched")
    nb_name = notebook_path(name).name
    probe = {
        "canary": str(canary),
        "other_student": str(root / "submitted" / "reference" / name / nb_name),
        "gradebook": str(root / "gradebook.db"),
        "source_notebook": str(root / "source" / name / nb_name),
        "port": listener.getsockname()[1],
        "marker": marker(name),
    }
    points = points_of(nbformat.read(notebook_path(name), as_version=4))
    partial = grading.module(name).PARTIAL
    submissions: dict = {"reference": reference_solutions(name), "blank": {}}
    expected: dict = {"reference": set(), "blank": set(points)}
    # The mistakes and alternatives: graded now unless the record holds their grade for
    # exactly these inputs (see tests/grading/__init__.py); the partial one always is.
    # The cases listed in ACCURACY-PENDING are not graded here: the load of a class graded at once
    # flips their timing cells; `make accuracy` grades them alone (tools/accuracy.py).
    # A case with limits of its own (grading.case_limits) is graded at the same time in a course of
    # its own that has them.
    record, digests = grading.read_record(name), {}

    def digest(limits: dict) -> str:
        """The inputs' digest for these limits, made once per set of limits (it reads every input)."""
        limits_id = json.dumps(limits, sort_keys=True)
        if limits_id not in digests:
            digests[limits_id] = grading.inputs_digest(name, limits)
        return digests[limits_id]

    keys, recorded, unsettled, apart = {}, {}, grading.accuracy_pending(), {}
    for case in grading.cases(name):
        student, limits = student_of(case.name, partial), grading.case_limits(case)
        limits_id = json.dumps(limits, sort_keys=True)
        keys[case.name], expected[student] = grading.case_key(digest(limits), case), set(case.loses)
        if case.name != partial and (name, case.name) in unsettled:
            continue
        entry = record.get(case.name, {})
        if case.name != partial and entry.get("key") == keys[case.name]:
            recorded[student] = entry["cells"]
        elif limits != LIMITS:
            apart.setdefault(limits_id, {})[student] = case.solutions
        else:
            submissions[student] = case.solutions
    gid, prefix = first_solution(name)
    hostile = {f"hostile-{h.name}": h for h in hostile_cases(probe, name)}
    for student, case in hostile.items():
        expected[student], solutions = set(points), {gid: prefix + case.code}
        if case.recorded:  # (tests/hostile.py) graded unless the record holds its outcome for these inputs
            keys[student] = grading.solutions_key(digest(LIMITS), solutions)
            if record.get(student, {}).get("key") == keys[student]:
                recorded[student] = record[student]["cells"]
                continue
        if case.hangs:
            apart.setdefault(json.dumps(HANG_LIMITS, sort_keys=True), {})[student] = solutions
        else:
            submissions[student] = solutions

    course = collected_course(root, name, submissions, **LIMITS)
    watched = {p: sha(p) for p in (canary, Path(probe["other_student"]), notebook_path(name, root / "source"))}
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in (base, *base.parents) if p != Path("/")}
    aside = []  # (course root, its students, the run): the cases graded with limits of their own
    for number, (limits_id, students) in enumerate(sorted(apart.items())):
        other = base / f"course-limits-{number}"
        collected_course(other, name, students, **json.loads(limits_id))
        aside.append((other, students, {}))

    def grade_aside(other, students, out):
        # two at a time at most (the hangs wait, or spin one core each, beside the class)
        out["run"] = parallel_autograde(other, name, min(2, len(students)), timeout=GRADING_RUN_TIMEOUT)

    runners = [threading.Thread(target=grade_aside, args=aside_run, daemon=True) for aside_run in aside]
    try:
        for runner in runners:
            runner.start()
        done = parallel_autograde(root, name, JOBS, *(a for s in submissions for a in ("--student", s)),
                                  timeout=GRADING_RUN_TIMEOUT)
        for runner in runners:
            runner.join(GRADING_RUN_TIMEOUT)
    finally:
        stop.set()
        watcher.join(5)
        listener.close()
    (root / "autograde.out").write_text(done.stdout + done.stderr)  # for a look afterwards
    try:
        report = read_report(root, name)["students"]
    except (OSError, ValueError):
        report = {}
    assert set(report) == set(submissions), f"every submission must be graded:\n{done.stdout}\n{done.stderr[-3000:]}"
    grades = cell_grades(root, name)
    elsewhere = {student: other for other, students, _ in aside for student in students}
    for other, students, out in aside:
        run = out.get("run")
        try:
            theirs = read_report(other, name)["students"]
        except (OSError, ValueError):
            theirs = {}
        assert set(theirs) == set(students), \
            f"every submission must be graded:\n{run.stdout if run else ''}\n{run.stderr[-3000:] if run else 'no run'}"
        report.update(theirs)
        grades.update(cell_grades(other, name))
    for student, cells in recorded.items():
        report[student] = {"success": True, "cells": cells, "recorded": True}
        if student in hostile:  # what the grader found, and how long it took, when it was recorded
            report[student].update({k: record[student][k] for k in ("tampering", "seconds")})
        grades.update({(student, cell): score for cell, score in cells.items()})
    entries = {}
    for case in grading.cases(name):
        student = student_of(case.name, partial)
        cells = recorded.get(student) or (report.get(student, {}).get("success") and report[student].get("cells"))
        # only a grade that is what the case deserves is recorded: any other is graded again next
        # run; the cases listed in ACCURACY-PENDING never are
        if cells and {cell for cell, score in cells.items() if not score} == set(case.loses) \
                and (name, case.name) not in unsettled:
            entries[case.name] = {"key": keys[case.name], "cells": cells}
    for student, case in hostile.items():
        if not case.recorded:
            continue
        if student in recorded:
            entries[student] = record[student]
            continue
        # only a containment that is what the case deserves is recorded: 0 points, and its
        # tampering reported if it must be
        got = report.get(student, {})
        if got.get("success") and not any(got["cells"].values()) and (got["tampering"] or not case.tampering):
            entries[student] = {"key": keys[student], "cells": got["cells"],
                                "tampering": [finding[:300] for finding in got["tampering"][:3]],
                                "seconds": round(got["seconds"], 1)}
    graded = Graded(name, root, course, sum(points.values()), points, expected, hostile, report,
                    grades, watched, modes, knocked,
                    regraded=sorted(s for s in [*submissions, *elsewhere]
                                    if s.startswith("case-") or s in hostile and hostile[s].recorded),
                    record_changed=grading.write_record(name, entries), pending=unsettled, elsewhere=elsewhere)
    course.feedback(name, ["reference", "blank", "partial"])
    return graded


@pytest.mark.timeout(GRADING_RUN_TIMEOUT + 300)  # the class's grading runs in the first test's set-up
class Autograding:
    name = ""

    @pytest.fixture(scope="class")
    @classmethod
    def graded(cls, tmp_path_factory) -> Graded:
        return grade_the_class(cls.name, tmp_path_factory.mktemp(cls.name))

    # --- the nbgrader loop -----------------------------------------------
    @pytest.mark.slow
    def test_loop_records_the_expected_scores_and_exports_them(self, graded):
        rows = {row["student_id"]: row for row in graded.course.export() if row["assignment"] == self.name}
        lost_partial = sum(graded.points[c] for c in graded.expected["partial"])
        for student, expected in (("reference", graded.total), ("blank", 0.0),
                                  ("partial", graded.total - lost_partial)):
            assert float(rows[student]["raw_score"]) == pytest.approx(expected), \
                f"{student}: expected {expected} of {graded.total}, the export says {rows[student]['raw_score']}\n" \
                + graded.why(student)
            assert float(rows[student]["max_score"]) == pytest.approx(graded.total)
        assert graded.lost("blank") == set(graded.points), "the blank release must fail every test cell"

    @pytest.mark.slow
    def test_each_student_fetches_only_their_own_feedback(self, graded):
        students = ["reference", "blank", "partial"]
        for student in students:
            feedback = graded.course.fetch_feedback(student, self.name)
            pages = list(feedback.rglob("*.html"))
            assert pages, f"{student} received no feedback"
            for page in pages:
                text = page.read_text(encoding="utf-8")
                others = [s for s in students if s != student and f"Student: {s}" in text]
                assert not others, f"{student}'s feedback mentions {others}"
            assert len({p.parent.name for p in pages}) == 1, f"{student} got several feedback sets: {pages}"

    @pytest.mark.slow
    def test_partial_students_feedback_and_validate_are_readable(self, graded):
        """What the partly correct student reads: feedback (tests/feedback_checks.py) from this
        class's grading, and Validate on the notebook they submitted."""
        root = graded.root
        page = next((root / "feedback" / "partial" / self.name).glob("*.html")).read_text()
        check_feedback(page, self.name, notebook_path(self.name, root / "autograded" / "partial"),
                       gradebook_scores(root, self.name, "partial"))
        check_validation(validate(notebook_path(self.name, graded.course.home("partial"))), self.name)

    # --- grading accuracy ------------------------------------------------
    @pytest.mark.slow
    def test_submission_scores_what_it_deserves(self, graded, student):
        pending = graded.pending.get((self.name, student.removeprefix("case-")))
        if pending and student not in graded.report:
            pytest.skip(f"listed in tests/grading/ACCURACY-PENDING ({pending}): not graded in the suite, whose "
                        f"load flips its timing cells; `make accuracy A={self.name}` grades it alone")
        assert graded.report[student]["success"], f"grading failed:\n{graded.why(student)}"
        scored = {cell for (who, cell) in graded.grades if who == student}
        assert scored == set(graded.points), \
            f"{student}: no score recorded for {sorted(set(graded.points) - scored)}\n{graded.why(student)}"
        lost = graded.lost(student)
        if pending and lost != graded.expected[student]:
            pytest.xfail(f"listed in tests/grading/ACCURACY-PENDING ({pending}): lost {sorted(lost)}")
        assert lost == graded.expected[student], (
            f"{student}: expected to lose {sorted(graded.expected[student]) or 'nothing'}, "
            f"lost {sorted(lost) or 'nothing'}\n{graded.why(student)}")

    @pytest.mark.slow
    def test_recorded_grades_are_committed(self, graded):
        where = grading.record_path(self.name).relative_to(grading.REPO)
        assert not graded.record_changed, (
            f"{len(graded.regraded)} cases were graded in this run because {where} had no grade for their "
            f"inputs (the cases, the assignment, the grader or the pins changed): {graded.regraded[:8]}. "
            f"This run wrote their grades there: commit {where}, so that the next run need not grade them again")

    # --- hostile submissions ---------------------------------------------
    @pytest.mark.slow
    def test_hostile_submission_is_contained(self, graded, hostile):
        student = f"hostile-{hostile}"
        case, result = graded.hostile[student], graded.report[student]
        assert result["success"], f"grading failed instead of scoring:\n{graded.why(student)}"
        assert graded.score(student) == 0, f"it earned {graded.score(student)} points"
        assert result["seconds"] < case.seconds, f"its grading took {result['seconds']:.1f} s (bound {case.seconds} s)"
        if case.tampering:
            assert result["tampering"], "the trick was not reported"
            if not result.get("recorded"):  # (checked when it was recorded)
                assert (graded.root / "autograded" / student / self.name / "tampering.json").exists()

    @pytest.mark.slow
    def test_nothing_outside_the_submissions_changed(self, graded):
        changed = [str(p) for p, digest in graded.watched.items() if sha(p) != digest]
        assert not changed, f"a submission changed files outside its folder: {changed}"
        modes = {p: stat.S_IMODE(p.stat().st_mode) for p in graded.modes}
        assert modes == graded.modes, "grading changed the permissions of folders on the way to the course"
        assert not graded.knocked, "a submission reached a server on the grading machine's network"
        mark = marker(self.name)
        survivors = [p.pid for p in psutil.process_iter(["cmdline"]) if mark in " ".join(p.info["cmdline"] or [])]
        assert not survivors, f"processes started by a submission outlived its grading: {survivors}"

    @pytest.mark.slow
    def test_escape_attempts_ran_and_all_failed(self, graded):
        path = notebook_path(self.name, graded.root / "autograded" / "hostile-escapes")
        printed = "".join(o.get("text", "") for c in nbformat.read(path, as_version=4).cells
                          if c.cell_type == "code" for o in c.outputs if o.output_type == "stream")
        # (a module written by a solution cell may be imported more than once)
        attempts = set(re.findall(r"^attempt (\w+): (\w+)$", printed, re.M))
        assert {what for what, _ in attempts} == set(ESCAPE_ATTEMPTS), \
            f"the escape attempts did not all run:\n{printed[:2000]}"
        succeeded = sorted({what for what, outcome in attempts if outcome == "ESCAPED"})
        assert not succeeded, f"these escapes succeeded: {succeeded}\n{printed[:2000]}"
        assert "BEGIN HIDDEN TESTS" not in printed, "a submission read the source notebook"
        if os.geteuid() == 0:
            assert "view: private" in printed, f"the kernel had no private file-system view:\n{printed[:500]}"

    @pytest.mark.slow
    def test_an_output_flood_is_not_stored_in_full(self, graded):
        if "hostile-output_flood" not in graded.hostile:
            pytest.skip(f"attacks on the machine are graded with {GRADED_WITH['machine']} (tests/hostile.py)")
        flooded = notebook_path(self.name, graded.root / "autograded" / "hostile-output_flood")
        assert flooded.stat().st_size < 2_000_000


def pytest_generate_tests(metafunc):
    if metafunc.cls is None or not getattr(metafunc.cls, "name", ""):
        return
    name = metafunc.cls.name
    if "student" in metafunc.fixturenames:
        partial = grading.module(name).PARTIAL
        students = ["reference", "blank"] + ["partial" if c.name == partial else f"case-{c.name}"
                                             for c in grading.cases(name)]
        metafunc.parametrize("student", students)
    if "hostile" in metafunc.fixturenames:
        metafunc.parametrize("hostile", [h.name for h in hostile_cases(NAMES_ONLY, name)])


# the cases' names do not depend on where their attempts aim
NAMES_ONLY = {"canary": "", "other_student": "", "gradebook": "", "source_notebook": "", "port": 0}

globals().update(per_assignment(Autograding, "TestAutograding"))


def test_every_assignment_has_a_full_marks_alternative_and_mistakes():
    for assignment in assignments():
        found = grading.cases(assignment)
        assert any(not c.loses for c in found), f"{assignment}: no different correct implementation"
        assert sum(1 for c in found if c.loses) >= 5, f"{assignment}: too few wrong implementations"
        partial = grading.case(assignment, grading.module(assignment).PARTIAL)
        assert partial.loses, f"{assignment}: the partial submission must lose something"


def test_every_attack_is_graded_with_an_assignment_of_the_course():
    for aims, name in GRADED_WITH.items():
        assert name in assignments(), f"tests/hostile.py: attacks on the {aims} are graded with {name}, not an assignment"
    every = hostile_cases(NAMES_ONLY)
    assert {h.aims for h in every} <= {"assignment", *GRADED_WITH}, "tests/hostile.py: an attack aims at nothing known"
    graded = [h.name for name in assignments() for h in hostile_cases(NAMES_ONLY, name)]
    assert sorted(set(graded)) == sorted(h.name for h in every), "an attack is graded with no assignment"
