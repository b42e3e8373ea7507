"""The whole nbgrader loop, per assignment, with simulated students.

An instructor releases; three students (their own ids, homes and caches)
fetch and submit: the reference solution, the blank release, and a partly
correct submission from the grading-accuracy set; the instructor collects,
autogrades, generates and releases feedback; each student fetches feedback;
the CSV export holds exactly the expected scores.
"""
import nbformat
import pytest

import grading
from grading_course import collected_course
from assignment_classes import per_assignment
from tools.assignments import notebook_path, points_of, reference_solutions


class NbgraderLoop:
    name = ""

    @pytest.mark.slow
    def test_release_submit_grade_feedback_export(self, tmp_path):
        loop(self.name, tmp_path)


def loop(name, tmp_path):
    points = points_of(nbformat.read(notebook_path(name), as_version=4))
    total = sum(points.values())
    partial = grading.case(name, grading.module(name).PARTIAL)
    students = {
        "ada": (reference_solutions(name), total),
        "bob": ({}, 0.0),
        "cyd": (partial.solutions, total - sum(points[g] for g in partial.loses)),
    }
    course = collected_course(tmp_path, name, {s: solutions for s, (solutions, _) in students.items()})
    for student in students:
        course.autograde(name, student)
    course.feedback(name)

    rows = {row["student_id"]: row for row in course.export() if row["assignment"] == name}
    for student, (_, expected) in students.items():
        assert float(rows[student]["raw_score"]) == pytest.approx(expected), \
            f"{student}: expected {expected} of {total}, the gradebook says {rows[student]['raw_score']}"
        assert float(rows[student]["max_score"]) == pytest.approx(total)

    for student in students:
        feedback = course.fetch_feedback(student, name)
        pages = list(feedback.rglob("*.html"))
        assert pages, f"{student} received no feedback"
        for page in pages:
            text = page.read_text(encoding="utf-8")
            others = [s for s in students if s != student and f"Student: {s}" in text]
            assert not others, f"{student}'s feedback mentions {others}"
        # feedback only from this student's own submissions
        assert len({p.parent.name for p in pages}) == 1, f"{student} got several feedback sets: {pages}"


globals().update(per_assignment(NbgraderLoop, "TestLoop"))
