"""The autograder judges behaviour: a different correct implementation earns
full marks, and each common mistake loses exactly the parts it breaks.

Submissions are scored as autograde scores them (nbgrader's Execute
preprocessor over the source notebook with hidden tests, then nbgrader's
determine_grade per test cell), without the gradebook round trip, which
tests/test_nbgrader_loop.py covers.
"""
import pytest

import grading
from assignment_classes import per_assignment
from harness import grade_cells
from tools.assignments import assignments


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        found = grading.cases(metafunc.cls.name)
        metafunc.parametrize("case", found, ids=[c.name for c in found])


class GradingAccuracy:
    name = ""

    @pytest.mark.slow
    def test_submission_scores_what_it_deserves(self, case, tmp_path):
        assignment = self.name
        scores = grade_cells(assignment, case.solutions, tmp_path)
        lost = {gid for gid, points in scores.items() if not points}
        assert lost == set(case.loses), (
            f"{case.name} ({case.why}): expected to lose {sorted(case.loses) or 'nothing'}, "
            f"lost {sorted(lost) or 'nothing'}; scores {scores}"
        )


globals().update(per_assignment(GradingAccuracy, "TestGrading"))


def test_every_assignment_has_a_full_marks_alternative_and_mistakes():
    for assignment in assignments():
        found = grading.cases(assignment)
        assert any(not c.loses for c in found), f"{assignment}: no different correct implementation"
        assert sum(1 for c in found if c.loses) >= 5, f"{assignment}: too few wrong implementations"
        partial = grading.case(assignment, grading.module(assignment).PARTIAL)
        assert partial.loses, f"{assignment}: the partial submission must lose something"
