"""What a student reads after grading, checked: the feedback page (a summary first, every
part and test cell named, each failure's message, no hidden-test code) and nbgrader's
Validate (a short summary first, then the errors).  Used by tests/test_instructor_loop.py
(the feedback pages of its loop, on ps2) and tests/test_autograding.py (every assignment's partly
correct student: feedback and Validate)."""
from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from tools.assignments import HIDDEN_MARKERS, SOURCE, marked_regions, notebook_path, points_of
from tools.feedback import hide_hidden_tests
from tools.settings import COURSE_ID


def docstring_title(source: str, grade_id: str) -> str:
    doc = ast.get_docstring(ast.parse(source))
    return doc.strip().splitlines()[0].strip() if doc else grade_id


def words(text: str) -> str:
    return re.sub(r"\W+", "", html.unescape(text))


def graded_cells(nb) -> list[tuple[str, str, str]]:
    """[(grade id, nearest heading above it, its source)] of a notebook's test cells."""
    found, heading = [], ""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            heads = [line for line in cell.source.splitlines() if re.match(r"\s{0,3}#{1,6}\s", line)]
            heading = heads[0].lstrip(" #") if heads else heading
        elif meta.get("grade") and not meta.get("solution"):
            found.append((meta["grade_id"], heading, cell.source))
    return found


def one_line(cell) -> str:
    for out in cell.outputs:
        if out.output_type == "error":
            first = [l for l in re.sub(r"\x1b\[[0-9;]*m", "", out.evalue).splitlines() if l.strip()]
            return f"{out.ename}: {first[0].strip()}" if first else out.ename
    return ""


def hidden_only_lines(name: str) -> set[str]:
    """Lines of the hidden tests that appear nowhere else in the notebook."""
    nb = nbformat.read(notebook_path(name), as_version=4)
    visible = {line.strip() for c in nb.cells for line in hide_hidden_tests(c.source)[0].splitlines()}
    hidden = {line.strip() for c in nb.cells for line in marked_regions(c.source, HIDDEN_MARKERS)}
    return {line for line in hidden - visible if len(line) > 20}


def page_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def check_feedback(page: str, name: str, autograded: Path, scores: dict[str, float]) -> None:
    """The feedback page of one student: summary first, every test cell named, each
    failure's message, no hidden-test code."""
    source = nbformat.read(notebook_path(name), as_version=4)
    graded = {c.metadata.nbgrader["grade_id"]: c for c in nbformat.read(autograded, as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("grade_id")}
    points = points_of(source)
    start, end = page.find('<div id="summary">'), page.find('id="notebook"')
    assert 0 <= start < end, "the summary must come before the notebook"
    summary = page[start:end]
    assert "Test cell</a>" not in page, "nbgrader's anonymous 'Test cell' entries are back"
    rows = re.findall(r'<tr class="(part|check \w+)">(.*?)</tr>', summary, re.S)
    part = None
    for grade_id, heading, cell_source in graded_cells(source):
        at = next((i for i, (_, row) in enumerate(rows) if f'href="#{grade_id}"' in row), None)
        assert at is not None, f"the summary does not list {grade_id}"
        part = next(row for kind, row in reversed(rows[:at]) if kind == "part")
        assert words(heading) == words(page_text(part)), f"{grade_id} is listed under {page_text(part)!r}, not {heading!r}"
        kind, row = rows[at]
        assert words(docstring_title(cell_source, grade_id)) in words(page_text(row)), f"{grade_id} is not named"
        lost = scores[grade_id] < points[grade_id]
        assert kind == ("check fail" if lost else "check pass"), f"{grade_id}: {kind} but scored {scores[grade_id]}"
        if lost:
            message = one_line(graded[grade_id])
            assert message and words(message) in words(page_text(row)), \
                f"{grade_id}'s failure message {message!r} is not in its summary line: {page_text(row)!r}"
    assert "white-space: pre-wrap" in page, "long messages must wrap"
    assert "BEGIN HIDDEN TESTS" not in page
    shown = {line.strip() for line in page_text(page).splitlines()}
    leaked = sorted(hidden_only_lines(name) & shown)
    assert not leaked, f"the feedback shows hidden-test code: {leaked[:5]}"


def own_exceptions(name: str) -> set[str]:
    """AssertionError, and the exception classes the assignment's helper files define."""
    found = {"AssertionError"}
    for path in (SOURCE / name).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(getattr(b, "id", "").endswith(("Error", "Exception"))
                                                      for b in node.bases):
                found.add(node.name)
    return found


def check_validation(result: dict, name: str) -> None:
    """nbgrader's Validator on a partly correct notebook: one entry, the summary
    first (every part, every test cell, each failure's message), then the errors;
    each visible test that fails does so with the test's own message."""
    source = nbformat.read(notebook_path(name), as_version=4)
    if not result:
        return  # the visible tests pass (the mistake only shows in the hidden ones)
    assert set(result) == {"failed"} and len(result["failed"]) == 1, result.keys()
    entry = result["failed"][0]
    summary = entry["source"]
    assert re.match(r"\d+ of \d+ graded tests fail", summary), summary[:200]
    last = -1
    for grade_id, heading, cell_source in graded_cells(source):
        at = summary.find(re.sub(r"[`*]", "", heading.strip()).split(":")[0])
        assert at >= last, f"the summary does not list {heading!r} in order:\n{summary}"
        last = at
        assert words(docstring_title(cell_source, grade_id)) in words(summary), f"{grade_id} is not named"
    sections = entry["raw_error"].split("=== ")[1:]
    assert len(sections) == summary.count(" FAIL "), (summary, entry["raw_error"][:2000])
    for section in sections:
        finals = [line for line in section.splitlines() if re.match(r"[A-Za-z_][\w.]*(: |$)", line)]
        assert finals, f"no error line in:\n{section[:2000]}"
        ename, _, message = finals[-1].partition(": ")
        assert ename in own_exceptions(name), \
            f"a visible test failed with {ename}, not with its own message:\n{section[-1500:]}"
        assert words(message.split(",")[0]) in words(summary), f"{message!r} is not in the summary:\n{summary}"
    assert summary.count("\n") < 60, "the summary should be short; the details follow it"
    assert "import gradelib" not in summary, "the summary must not repeat the test cells' source"
    assert entry["error"] and entry["raw_error"], "the details follow the summary"


def gradebook_scores(root: Path, name: str, student: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        sub = gb.find_submission(name, student)
        return {g.name: g.score for nb in sub.notebooks for g in nb.grades}
