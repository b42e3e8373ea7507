"""The autograder judges behaviour: a different correct implementation earns
full marks, and each common mistake loses exactly the parts it breaks.

Submissions are scored as autograde scores them (nbgrader's Execute
preprocessor over the source notebook with hidden tests, then nbgrader's
determine_grade per test cell), without the gradebook round trip, which
tests/test_nbgrader_loop.py covers.
"""
import pytest

import grading
from harness import grade_cells
from tools.assignments import assignments

CASES = [(a, c) for a in assignments() for c in grading.cases(a)]


@pytest.mark.slow
@pytest.mark.parametrize("assignment,case", CASES, ids=[f"{a}-{c.name}" for a, c in CASES])
def test_submission_scores_what_it_deserves(assignment, case, tmp_path):
    scores = grade_cells(assignment, case.solutions, tmp_path)
    lost = {gid for gid, points in scores.items() if not points}
    assert lost == set(case.loses), (
        f"{case.name} ({case.why}): expected to lose {sorted(case.loses) or 'nothing'}, "
        f"lost {sorted(lost) or 'nothing'}; scores {scores}"
    )


def test_every_assignment_has_a_full_marks_alternative_and_mistakes():
    for assignment in assignments():
        found = grading.cases(assignment)
        assert any(not c.loses for c in found), f"{assignment}: no different correct implementation"
        assert sum(1 for c in found if c.loses) >= 5, f"{assignment}: too few wrong implementations"
        partial = grading.case(assignment, grading.module(assignment).PARTIAL)
        assert partial.loses, f"{assignment}: the partial submission must lose something"
