"""Every assignment in source/: the reference passes, release/ is generated
from it and gives nothing away, and the blank release fails every test."""
import re
import filecmp
import fnmatch
import json

import nbformat
import pytest

from assignment_classes import per_assignment
from harness import Course, copy_assignment, ignore_patterns, validate
from tools.assignments import (
    HIDDEN_MARKERS,
    RELEASE,
    SOURCE,
    SOLUTION_MARKERS,
    assignments,
    marked_regions,
    notebook_path,
    points_of,
)

ASSIGNMENTS = assignments()


def test_there_are_assignments():
    assert "ps1_process_pool" in ASSIGNMENTS


class ExecutedChecks:
    """The reference passes nbgrader validate, the student's own check (the blank
    release failing every test cell is checked by tests/test_autograding.py,
    through autograde with the hidden tests)."""
    name = ""

    @pytest.mark.slow
    def test_reference_solution_passes_every_test(self, tmp_path):
        copy_assignment(SOURCE / self.name, tmp_path / self.name)
        result = validate(notebook_path(self.name, tmp_path))
        assert result == {}, f"the reference solution of {self.name} fails: {json.dumps(result, indent=1)[:3000]}"


globals().update(per_assignment(ExecutedChecks, "TestExecuted"))


def code_of(line: str) -> str:
    """A line without its indentation and its trailing comment (a '#' outside quotes)."""
    code = line.strip()
    for match in re.finditer(r"#", code):
        before = code[:match.start()]
        if before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
            return before.rstrip()
    return code


def outside_regions(source):
    """The lines of a cell outside every SOLUTION and HIDDEN TESTS region."""
    inside, out = False, []
    for line in source.splitlines():
        m = SOLUTION_MARKERS.match(line) or HIDDEN_MARKERS.match(line)
        if m:
            inside = m.group(1) == "BEGIN"
        elif not inside:
            out.append(line)
    return out


def _normalise(nb):
    """A notebook's content without what nbgrader or Jupyter may vary between runs."""
    data = json.loads(nbformat.writes(nb))
    data["metadata"].pop("widgets", None)
    data["metadata"].pop("language_info", None)  # set by tools.assignments.open_clean (tests/test_tools.py)
    for cell in data["cells"]:
        cell.pop("id", None)  # random for cells nbgrader adds or rewrites
        cell["metadata"].pop("execution", None)
    return json.dumps(data, indent=1, sort_keys=True)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_is_what_generate_assignment_makes(name, tmp_path):
    course = Course(tmp_path)
    course.add_source(name)
    course.generate(name)
    fresh, committed = tmp_path / "release" / name, RELEASE / name
    assert committed.exists(), f"release/{name} is missing: run `make generate A={name}`"
    compare = filecmp.dircmp(fresh, committed, ignore=[".ipynb_checkpoints", "__pycache__"])
    assert not compare.left_only and not compare.right_only, (
        f"release/{name} has other files than a fresh generate_assignment: "
        f"missing {compare.left_only}, extra {compare.right_only}; run `make generate A={name}`"
    )
    for fname in compare.common_files:
        if fname.endswith(".ipynb"):
            a = _normalise(nbformat.read(fresh / fname, as_version=4))
            b = _normalise(nbformat.read(committed / fname, as_version=4))
            assert a == b, f"release/{name}/{fname} is stale: run `make generate A={name}`"
        else:
            assert filecmp.cmp(fresh / fname, committed / fname, shallow=False), \
                f"release/{name}/{fname} is stale: run `make generate A={name}`"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_gives_away_no_solution_and_no_hidden_test(name):
    source = nbformat.read(notebook_path(name), as_version=4)
    released = nbformat.read(notebook_path(name, RELEASE), as_version=4)
    text = "\n".join(c.source for c in released.cells)
    secret, public = set(), set()
    for cell in source.cells:
        hidden = marked_regions(cell.source, SOLUTION_MARKERS) + marked_regions(cell.source, HIDDEN_MARKERS)
        secret |= {code_of(line) for line in hidden}
        public |= {code_of(line) for line in outside_regions(cell.source)}
    # Lines specific to the solution or hidden tests: long enough not to be
    # generic, and not also written in the public part of the notebook (a line
    # is its code: a trailing comment does not make it another line).
    released_lines = {code_of(line) for line in text.splitlines()}
    leaks = sorted(line for line in secret - public if len(line) > 30 and line in released_lines)
    assert not leaks, f"release/{name} contains solution or hidden-test lines: {leaks[:5]}"
    assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    assert set(points_of(released)) == set(points_of(source)), "every test cell must be released"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_holds_no_file_a_solution_cell_writes(name):
    patterns = ignore_patterns()
    shipped = [p.name for p in (RELEASE / name).rglob("*")]
    bad = [f for f in shipped if any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert not bad, f"release/{name} ships files nbgrader should ignore: {bad}"


def test_shared_grading_helpers_are_identical_everywhere():
    copies = sorted(SOURCE.glob("*/gradelib.py"))
    assert copies, "every assignment ships gradelib.py"
    first = copies[0].read_bytes()
    different = [str(p.relative_to(SOURCE)) for p in copies if p.read_bytes() != first]
    assert not different, f"gradelib.py differs between assignments: {different} (keep one text)"


def test_source_holds_nothing_generated():
    """Files a solution cell writes during validation must be ignored, not shipped."""
    tracked_candidates = [p for p in SOURCE.rglob("*") if p.is_file()]
    patterns = ignore_patterns()
    for path in tracked_candidates:
        if any(fnmatch.fnmatch(path.name, p) for p in patterns):
            # allowed only because nbgrader ignores them; they never reach release/
            assert not (RELEASE / path.relative_to(SOURCE)).exists()
