"""What a student reads about a graded notebook: the feedback page and Validate.

Both begin with a summary, one line per test cell under the heading of its
part: whether it passed and, for a failure, its one-line message (the first
line of the error it raised); the details follow.  Names come from the
notebook itself, so split or renamed test cells need no change here: the part
is the nearest Markdown heading above the test cell, the check is the first
line of the cell's docstring (its grade id when it has none).

* ``CourseFeedback`` is an nbgrader preprocessor for ``generate_feedback``
  (nbgrader_config.py adds it after nbgrader's own GetGrades).  It computes the
  summary for the page's template (tools/templates/course_feedback) and, unless
  ``c.CourseFeedback.show_hidden_tests = True``, removes the hidden tests'
  code: their region of each test cell, and the traceback frames that point
  into a test cell (a frame on a visible line is replaced by that line).  The
  failure messages, everything the student's own code printed, and frames in
  the student's code stay.
* ``install_validate_summary()`` makes nbgrader's Validator (the Validate
  button of JupyterLab and the Assignment List, and ``nbgrader validate``)
  answer a failed validation with the summary and then each failing cell's
  error, instead of the whole source of every failing test cell before its
  error.  nbgrader's own dialog shows it unchanged: it renders one "failed"
  entry as a text block (the summary) and an HTML block (the details).
"""
from __future__ import annotations

import ast
import html
import os
import re
import textwrap
from dataclasses import asdict, dataclass

from nbconvert.filters import ansi2html, strip_ansi
from traitlets import Bool, List

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(HERE, "templates")
TEMPLATE = "course_feedback"

HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
HIDDEN = re.compile(r"^(\s*)###\s*(BEGIN|END) HIDDEN TESTS\s*$")
FRAME = re.compile(r"^(?:Cell|Input) In\s?\[(\d+)\], line (\d+)")
WIDTH = 96  # characters per line of the plain-text summary (`nbgrader validate` cuts longer ones)


@dataclass
class Check:
    """One graded test cell, as the student should hear about it."""

    grade_id: str
    part: str            # the heading of its part, e.g. "Part B (3 points): system calls"
    title: str           # first docstring line, or the grade id
    points: float
    score: float | None  # None: not graded (e.g. a validation, which has no hidden tests)
    message: str = ""    # one line; empty when it passed

    @property
    def passed(self) -> bool:
        return not self.message


def is_test_cell(cell) -> bool:
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def plain(text: str) -> str:
    """A Markdown heading as plain text: no emphasis marks, code ticks or links."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)      # [text](link)
    text = re.sub(r"`([^`]*)`", r"\1", text)                       # `code`
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)                 # **strong**
    return re.sub(r"(?<!\w)([*_])(?=\S)(.+?)(?<=\S)\1(?!\w)", r"\2", text).strip()  # *emphasis*, not snake_case


def title_of(cell) -> str:
    """The first line of the cell's docstring, or its grade id."""
    source = cell.source
    try:
        doc = ast.get_docstring(ast.parse(source))
    except SyntaxError:  # IPython syntax (magics): read a leading string literal by hand
        m = re.match(r'\s*[rRuU]?("""|\'\'\'|"|\')(.*?)\1', source, re.S)
        doc = m.group(2) if m else None
    first = (doc or "").strip().splitlines()
    return first[0].strip() if first else cell.metadata.nbgrader["grade_id"]


def first_line(text: str) -> str:
    lines = [line.strip() for line in strip_ansi(text or "").splitlines() if line.strip()]
    return lines[0] if lines else ""


def message_of(cell, score: float | None, points: float) -> str:
    """The one-line reason a test cell lost points, or "" when it did not."""
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            line = first_line(out.get("evalue", ""))
            return f"{out.ename}: {line}" if line else out.ename
    for out in cell.get("outputs", []):
        if out.output_type == "stream" and out.name == "stderr":
            return f"the cell wrote to stderr, which scores it 0: {first_line(out.text)}"
    if score is not None and score < points:
        return f"{score:g} of {points:g} points"
    return ""


def checks(nb) -> list[Check]:
    """Every test cell of an executed notebook, in order, with its part and result."""
    found, part = [], ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                m = HEADING.match(line)
                if m:
                    part = plain(m.group(1))
                    break
            continue
        if not is_test_cell(cell):
            continue
        meta = cell.metadata.nbgrader
        if "score" in meta:  # feedback: nbgrader's GetGrades put the gradebook's score here
            score, points = meta["score"], float(meta.get("points") or 0)
            score = None if score is None else float(score)
        else:                # validation: judge the outputs the way nbgrader does
            score, points = utils.determine_grade(cell)
            points = float(points or 0)
        found.append(Check(meta["grade_id"], part, title_of(cell), points, score,
                           message_of(cell, score, points)))
    return found


def grouped(found: list[Check]) -> list[tuple[str, list[Check]]]:
    """[(part heading, its checks)] in notebook order."""
    groups: list[tuple[str, list[Check]]] = []
    for check in found:
        if groups and groups[-1][0] == check.part:
            groups[-1][1].append(check)
        else:
            groups.append((check.part, [check]))
    return groups


def summary_lines(found: list[Check], width: int = WIDTH) -> list[str]:
    """The plain-text summary: a verdict, then each part and its checks."""
    failed = [c for c in found if not c.passed]
    if not found:
        return ["This notebook has no graded tests."]
    verdict = (f"All {len(found)} graded tests pass." if not failed else
               f"{len(failed)} of {len(found)} graded tests fail; their errors follow this summary.")
    lines = [verdict, ""]
    for part, group in grouped(found):
        lines.append(part or "(no heading)")
        for check in group:
            mark = "pass" if check.passed else "FAIL"
            lines.extend(textwrap.wrap(f"{mark}  {check.title}", width, initial_indent="  ",
                                       subsequent_indent="        "))
            if not check.passed:
                lines.extend(textwrap.wrap(check.message, width, initial_indent="        ",
                                           subsequent_indent="        ", break_long_words=True))
    return lines


# --- hidden tests out of the feedback -------------------------------------------

def hide_hidden_tests(source: str) -> tuple[str, set[int]]:
    """(the source with each hidden region replaced by one comment line, the
    1-based numbers of the original lines that were hidden, markers included)."""
    out, hidden, inside = [], set(), False
    for number, line in enumerate(source.split("\n"), start=1):
        m = HIDDEN.match(line)
        if m and m.group(2) == "BEGIN":
            inside = True
            out.append(f"{m.group(1)}# ... hidden tests (not shown) ...")
        if inside:
            hidden.add(number)
        else:
            out.append(line)
        if m and m.group(2) == "END":
            inside = False
    return "\n".join(out), hidden


def trim_traceback(lines: list[str], tests: dict[int, tuple[str, list[str], set[int]]]) -> list[str]:
    """The traceback without the code of test cells: a frame in a test cell
    becomes one line naming it, with the failing line when it is a visible
    one.  `tests`: {execution count: (grade id, source lines, hidden line numbers)}."""
    kept = []
    for entry in lines:
        m = FRAME.match(strip_ansi(entry).lstrip())
        if not m or int(m.group(1)) not in tests:
            kept.append(entry)
            continue
        grade_id, source, hidden = tests[int(m.group(1))]
        number = int(m.group(2))
        if number in hidden or number > len(source):
            kept.append(f"In test cell {grade_id}: a hidden test failed (its code is not shown)\n")
        else:
            kept.append(f"In test cell {grade_id}, at:\n---> {source[number - 1].strip()}\n")
    return kept


class CourseFeedback(NbGraderPreprocessor):
    """Summary first, and no hidden-test code, in nbgrader's feedback."""

    # configurable, as in nbgrader's GetGrades (whose section of the config is shared with this one)
    display_data_priority = List(["text/html", "application/pdf", "text/latex", "image/svg+xml", "image/png",
                                  "image/jpeg", "text/plain"]).tag(config=True)
    show_hidden_tests = Bool(
        False, help="Show the hidden tests' code in feedback (default: only each failed check's "
        "message, and the student's own code)").tag(config=True)

    def preprocess(self, nb, resources):
        found = checks(nb)
        resources["course"] = {
            "groups": [(part, [asdict(c) | {"passed": c.passed} for c in group]) for part, group in grouped(found)],
            "failed": sum(not c.passed for c in found),
            "total": len(found),
            "titles": {c.grade_id: c.title for c in found},
        }
        if not self.show_hidden_tests:
            tests = {}
            for cell in nb.cells:
                if is_test_cell(cell):
                    lines = cell.source.split("\n")
                    cell.source, hidden = hide_hidden_tests(cell.source)
                    if cell.get("execution_count"):
                        tests[cell.execution_count] = (cell.metadata.nbgrader["grade_id"], lines, hidden)
            for cell in nb.cells:
                for out in cell.get("outputs", []):
                    if out.output_type == "error":
                        out.traceback = trim_traceback(out.traceback, tests)
        return nb, resources


def feedback_preprocessors() -> list:
    """nbgrader's generate_feedback preprocessors with CourseFeedback after GetGrades."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.preprocessors import GetGrades

    default = list(GenerateFeedback.class_traits()["preprocessors"].default())
    at = default.index(GetGrades) + 1 if GetGrades in default else 0
    return default[:at] + [CourseFeedback] + default[at:]


def _nbgrader_templates() -> str:
    import nbgrader.server_extensions.formgrader as formgrader

    return os.path.join(os.path.dirname(formgrader.__file__), "templates")


def feedback_template_dirs() -> list[str]:
    """HTMLExporter.extra_template_basedirs: the course's feedback template, then nbgrader's."""
    return [TEMPLATES, _nbgrader_templates()]


def feedback_template_paths() -> list[str]:
    """HTMLExporter.extra_template_paths: where ``{% extends 'feedback/index.html.j2' %}``
    finds nbgrader's template, and the Bootstrap CSS it includes (nbgrader's own setting)."""
    css = os.path.join(os.path.dirname(_nbgrader_templates()), "static", "node_modules", "bootstrap", "dist", "css")
    return [_nbgrader_templates(), css]


# --- Validate: the summary first --------------------------------------------------

def validation_entry(nb, failed_cells, error_of) -> dict:
    """The one "failed" entry nbgrader's Validate dialog shows: `source` (a text
    block) holds the summary, `error` (an HTML block) each failing cell's error."""
    found = checks(nb)
    names = {c.grade_id: c for c in found}
    summary = "\n".join(summary_lines(found))
    html_parts, text_parts = [], []
    for cell in failed_cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        check = names.get(gid)
        head = f"{check.part}: {check.title} ({gid})" if check else gid or "a cell"
        error = error_of(cell)
        html_parts.append(f"<b>{html.escape(head)}</b>\n{ansi2html(error)}")
        wrapped = [piece for line in strip_ansi(error).splitlines()
                   for piece in (textwrap.wrap(line, WIDTH, subsequent_indent="    ", drop_whitespace=False)
                                 or [""])]
        text_parts.append("\n".join(["=== " + head, *wrapped]))
    return {"source": summary, "error": "\n\n".join(html_parts), "raw_error": "\n\n".join(text_parts)}


def install_validate_summary() -> None:
    """Make nbgrader's Validator report a failure as one summary-first entry.
    Idempotent (nbgrader loads nbgrader_config.py again for every request)."""
    from nbgrader.validator import Validator

    if getattr(Validator, "_course_summary", False):
        return
    original_failed, original_validate = Validator._get_failed_cells, Validator.validate

    def _get_failed_cells(self, nb):
        failed = original_failed(self, nb)
        self._course_seen = (nb, failed)
        return failed

    def validate(self, filename):
        self._course_seen = None
        results = original_validate(self, filename)
        seen = getattr(self, "_course_seen", None)
        if results.get("failed") and seen:
            try:
                results["failed"] = [validation_entry(seen[0], seen[1], self._extract_error)]
            except Exception:  # never let the summary break validation: keep nbgrader's own answer
                self.log.exception("could not summarise the validation; showing nbgrader's own report")
        return results

    Validator._get_failed_cells = _get_failed_cells
    Validator.validate = validate
    Validator._course_summary = True
