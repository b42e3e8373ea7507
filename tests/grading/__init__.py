"""Grading-accuracy cases: submissions whose scores the autograder must get right.

Each assignment has a module here (``grading/<assignment>/__init__.py``)
defining ``CASES``, a list of :class:`Case`: a *different* correct
implementation that must earn full marks, and wrong implementations, each
with the test cells it must lose.  ``PARTIAL`` names the case the end-to-end
nbgrader loop submits as its partly correct student.

Each assignment also has a map of its rules (``grading/<assignment>/rules.py``):
``RULES``, a list of :class:`Rule`, one per rule the release text states (the
text labels each rule with its id, e.g. ``**C3.**``), each naming the test
cells that enforce it and the mistakes in ``CASES`` that break it; and
``EQUIVALENT_MUTANTS``, {mutant key: why no test can tell it from the reference},
for the mutants of ``make mutation`` that survive for a good reason.
"""
from __future__ import annotations

import fnmatch
import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Case:
    name: str
    solutions: dict          # solution grade_id -> the cell's code
    loses: frozenset = field(default_factory=frozenset)  # test cells that must score 0
    why: str = ""
    rules: tuple = ()        # for a mistake written blind (below): the rule ids it says it breaks
    limits: tuple = ()       # (setting, value) pairs graded with instead of LIMITS' (see case_limits)


@dataclass(frozen=True)
class Rule:
    id: str                  # as labelled in the release text: part letter + number, e.g. "C3"
    text: str                # what the release text says (a quote, whitespace aside)
    cells: tuple             # grade ids of the test cells that enforce it
    check: str               # how those cells check it, in one line
    mistakes: tuple          # names of CASES that break it (each must lose the rule's cells)


def rules(assignment: str) -> list[Rule]:
    return list(importlib.import_module(f"grading.{assignment}.rules").RULES)


def module(assignment: str):
    return importlib.import_module(f"grading.{assignment}")


def cases(assignment: str) -> list[Case]:
    """The assignment's CASES, then the submissions written blind (see `blind_cases`)."""
    return list(module(assignment).CASES) + blind_cases(assignment)


BLIND_MARKER = re.compile(r"^# %% (\S+)\s*$", re.M)


def blind_cases(assignment: str, folder: Path | None = None) -> list[Case]:
    """The well-formed submissions written blind (`read_blind`); `blind_problems` lists the others."""
    return [case for case in read_blind(assignment, folder) if isinstance(case, Case)]


def blind_problems(assignment: str, folder: Path | None = None) -> list[str]:
    return [problem for problem in read_blind(assignment, folder) if isinstance(problem, str)]


def read_blind(assignment: str, folder: Path | None = None) -> list:
    """Submissions written from the release text alone, by people who never read the hidden tests.

    ``grading/<assignment>/blind/<name>.py``: a header (``# breaks: C3, C4`` or ``# breaks: none``
    for a correct one, ``# why: ...``), then the code of each solution cell after a line
    ``# %% <grade id>``.  The case ``blind_<name>`` must lose exactly the test cells of the rules
    it says it breaks (the map in rules.py), and a correct one nothing.
    """
    folder = folder or GRADING / assignment / "blind"
    if not folder.is_dir():
        return []
    cells_of = {rule.id: rule.cells for rule in rules(assignment)}
    found = []
    for path in sorted(folder.glob("*.py")):
        text = read(path)
        parts = BLIND_MARKER.split(text)
        header, solutions = parts[0], {gid: code.strip("\n") + "\n" for gid, code in zip(parts[1::2], parts[2::2])}
        breaks = re.search(r"^# breaks:\s*(.+)$", header, re.M)
        why = re.search(r"^# why:\s*(.+(?:\n#  .+)*)", header, re.M)
        if not breaks or not solutions:
            found.append(f"{path.name}: needs a '# breaks: ...' header line and '# %% <grade id>' cells")
            continue
        ids = tuple(i.strip() for i in breaks.group(1).split(",") if i.strip() and i.strip() != "none")
        unknown = [i for i in ids if i not in cells_of]
        if unknown:
            found.append(f"{path.name}: breaks {unknown}, which are not rules of {assignment} (rules.py)")
            continue
        loses = frozenset(c for i in ids for c in cells_of[i])
        found.append(Case(f"blind_{path.stem}", solutions, loses,
                          " ".join(why.group(1).replace("#", " ").split()) if why else "", rules=ids))
    return found


def case(assignment: str, name: str) -> Case:
    return next(c for c in cases(assignment) if c.name == name)


def mutate(text: str, *edits: tuple[str, str]) -> str:
    """Apply (old, new) replacements; each `old` must occur exactly once."""
    for old, new in edits:
        count = text.count(old)
        if count != 1:
            raise ValueError(f"mutation anchor found {count} times, expected once: {old!r}")
        text = text.replace(old, new)
    return text


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --- grades recorded by their inputs ------------------------------------------
#
# Grading every mistake of an assignment through the sandboxed autograder takes
# a fresh kernel and all the test cells per mistake: far too long for every run
# of the suite.  So tests/test_autograding.py records each case's grade in
# grading/<assignment>/GRADES.json under a key made of everything the grade
# can depend on (the case's own code, every file of source/<assignment>/, the
# grader, the course's nbgrader configuration, the test harness's limits, the
# pinned requirements and the Python version).  A case whose key matches its
# record is not graded again; any change to any of these grades it again, in
# the same run, beside the others.  (As a build system caches a test's result
# by its inputs.)  The run then rewrites the record, and a test fails until the
# updated record is committed, so that the next run, and CI, need not grade it.
# The hostile submissions that work inside the kernel's Python alone (tests/hostile.py,
# `recorded`) are recorded the same way: their 0 points, the grader's first findings and
# their time, under a key of the same inputs and their own code.

GRADING = Path(__file__).resolve().parent
REPO = GRADING.parent.parent
# The limits the suite grades with: tighter than the course's defaults (the cell timeout in nbgrader_config.py, the
# sandbox's limits in grader/execute.py: README's table), so that hangs and bombs
# end sooner, and still well above what an honest submission needs (the slowest
# reference cell, ps1's map checks, runs in about 6 s).  The notebook's limit leaves
# room for every cell of the largest notebook (ps4's 20) to time out once, so that a
# mistake that hangs a few cells still has the rest of its cells graded, as in the course.
# Part of every record's key (inputs_digest), and what `make accuracy` grades with; a case may
# replace some of them with its own (`Case.limits`, see case_limits).
LIMITS = {"Execute.timeout": 15, "SandboxedExecute.notebook_timeout": 300, "SandboxedExecute.memory_mb": 2048}

# The course's own cell limit (nbgrader_config.py), for a case that is slow rather than wrong:
# a mistake that makes every cell slower (a new interpreter per task) must lose the cells of the
# rule it breaks, and no cell because the suite's tighter limit cut it short on a loaded machine.
COURSE_CELL_LIMIT = (("Execute.timeout", 120),)

INPUT_FOLDERS = ("grader",)
INPUT_FILES = ("nbgrader_config.py", "requirements.txt", "tests/grading_course.py",
               "tests/harness.py", "tools/assignments.py", "tools/settings.py")  # the configuration's builders


def record_path(assignment: str) -> Path:
    return GRADING / assignment / "GRADES.json"


def inputs_digest(assignment: str, limits: dict) -> str:
    """A digest of everything but the case's own code that its grade depends on."""
    import hashlib
    import json
    import sys

    digest = hashlib.sha256()
    from harness import ignore_patterns   # what nbgrader leaves out of an assignment (caches, written files)

    ignored = ignore_patterns()
    files = sorted((REPO / "source" / assignment).rglob("*"))
    for folder in INPUT_FOLDERS:
        files += sorted((REPO / folder).rglob("*.py"))
    files += [REPO / f for f in INPUT_FILES]
    kept = repository_files()
    for path in files:
        if kept is not None and path not in kept:
            continue  # what git ignores (a tool's cache) is not in a fresh clone: never an input
        if path.is_file() and not any(fnmatch.fnmatch(part, p) for part in path.parts for p in ignored):
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + graded_content(path) + b"\0")
    digest.update(json.dumps({"limits": limits, "python": sys.version_info[:2]}, sort_keys=True).encode())
    return digest.hexdigest()


def repository_files() -> set[Path] | None:
    """The files a clone of the repository holds with this working tree's changes: tracked
    ones and new ones git does not ignore (None outside a git work tree)."""
    import subprocess

    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=REPO, capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {REPO / name for name in out.decode().split("\0") if name}


def graded_content(path: Path) -> bytes:
    """What of a file can change a grade: a notebook's code cells and their nbgrader metadata
    (its text is read by students, never run), any other file whole."""
    if path.suffix != ".ipynb":
        return path.read_bytes()
    import json

    import nbformat

    nb = nbformat.read(path, as_version=4)
    return json.dumps([(c.source, c.metadata.get("nbgrader", {})) for c in nb.cells if c.cell_type == "code"],
                      sort_keys=True).encode()


def case_limits(case: Case) -> dict:
    """The limits `case` is graded with: LIMITS, with the case's own `limits` in place of some."""
    return {**LIMITS, **dict(case.limits)}


def case_key(digest: str, case: Case) -> str:
    return solutions_key(digest, case.solutions)


def solutions_key(digest: str, solutions: dict) -> str:
    """A record's key: the inputs' digest and the submission's solution cells (grade id -> code)."""
    import hashlib
    import json

    return hashlib.sha256((digest + json.dumps(solutions, sort_keys=True)).encode()).hexdigest()[:32]


def read_record(assignment: str) -> dict:
    """{case name: {"key", "cells": {test cell: points}}, and for the hostile submissions graded
    once per key (tests/hostile.py), "hostile-<name>": {"key", "cells", "tampering": [the grader's
    first findings], "seconds"}} (empty if there is none)."""
    import json

    try:
        return json.loads(record_path(assignment).read_text(encoding="utf-8"))["cases"]
    except (OSError, ValueError, KeyError):
        return {}


def write_record(assignment: str, entries: dict) -> bool:
    """Write the record if it changed; True if it did."""
    import json

    text = json.dumps({"about": "grades of tests/grading cases by their inputs: see tests/grading/__init__.py",
                       "cases": dict(sorted(entries.items()))}, indent=1, sort_keys=False) + "\n"
    path = record_path(assignment)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def pending(path: Path) -> dict:
    """{key: reason} from a list of work still being done (`key: reason` per line, # comments)."""
    lines = [line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines()] \
        if path.exists() else []
    return {key.strip(): reason.strip() for key, reason in (line.split(":", 1) for line in lines if line)}


def accuracy_pending() -> dict:
    """{(assignment, case): reason} from ACCURACY-PENDING: cases whose grade is still being made
    to match what they deserve.  The suite's grading classes skip them (their timing cells flip
    under its load) and never record their grade; `make accuracy` (tools/accuracy.py) grades them."""
    return {tuple(key.split()): reason for key, reason in pending(GRADING / "ACCURACY-PENDING").items()}
