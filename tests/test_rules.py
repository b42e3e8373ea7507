"""Every rule of every release text has a check and a mistake that proves the check bites.

The map of an assignment is ``tests/grading/<assignment>/rules.py`` (see
``tests/grading/__init__.py``): ``RULES``, one :class:`grading.Rule` per rule
the release text labels (``**C3.**``), and ``EQUIVALENT_MUTANTS``.  These tests
read the notebooks and the maps only (no kernel): each lists everything that is
missing at once, so one run says all that is left to do.

The mutation report (``tests/grading/<assignment>/MUTATION.md``, written by
``make mutation A=<assignment>``) must come from the current reference
solution, and every mutant that survived it must be recorded as equivalent,
with a reason, and nothing else.
"""
from __future__ import annotations

import importlib
import re
from functools import cache
from pathlib import Path

import nbformat
import pytest

import grading
from grader.parallel import load_config
from tools import mutation
from tools.assignments import RELEASE, assignments, cells_by_id, notebook_path, points_of

ASSIGNMENTS = assignments()
GRADING = Path(grading.__file__).parent
LABEL = re.compile(r"\*\*([A-Z]\d+)\.\*\*")
RULE_ID = re.compile(r"^[A-Z]\d+$")


def normalise(text: str) -> str:
    """Markdown to compare quotes with: emphasis, backticks and escapes dropped, whitespace collapsed."""
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>])", r"\1", text)
    text = re.sub(r"[*_`]", "", text)
    return " ".join(text.split())


@cache
def release(name: str):
    return nbformat.read(notebook_path(name, RELEASE), as_version=4)


def markdown(name: str) -> str:
    return "\n\n".join(c.source for c in release(name).cells if c.cell_type == "markdown")


def labelled(name: str) -> list[str]:
    """The rule ids the release text labels, in order (duplicates kept)."""
    return LABEL.findall(markdown(name))


def graded_cells(name: str) -> set[str]:
    """Grade ids of the graded test cells of the release notebook."""
    return set(points_of(release(name)))


def load(name: str):
    """The assignment's rules module; fails naming everything to write when it is missing."""
    path = GRADING / name / "rules.py"
    if not path.exists():
        ids = labelled(name)
        pytest.fail(
            f"{path.relative_to(GRADING.parent.parent)} is missing. Write RULES, one grading.Rule for each rule "
            f"the release text labels ({', '.join(ids) or 'none labelled yet: label each rule **X1.** in the text'}), "
            f"each naming the test cells that enforce it (of {', '.join(sorted(graded_cells(name)))}) and the "
            f"mistakes in tests/grading/{name}/__init__.py CASES that break it; and EQUIVALENT_MUTANTS = {{}} "
            f"(filled from `make mutation A={name}`).",
            pytrace=False,
        )
    return importlib.import_module(f"grading.{name}.rules")


def problems_fail(problems: list[str], what: str) -> None:
    if problems:
        pytest.fail(f"{what} ({len(problems)}):\n  - " + "\n  - ".join(problems), pytrace=False)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_labelled_rule_has_a_rule_and_back(name):
    module = load(name)
    rules = list(getattr(module, "RULES", []))
    problems = []
    if not rules:
        problems.append("RULES is missing or empty")
    ids = [getattr(r, "id", None) for r in rules]
    problems += [f"RULES[{i}] is not a grading.Rule: {r!r}" for i, r in enumerate(rules) if not isinstance(r, grading.Rule)]
    problems += [f"rule id {i!r} is not a part letter and a number (e.g. 'C3')" for i in ids if not RULE_ID.match(str(i))]
    problems += [f"rule {i} appears {ids.count(i)} times in RULES" for i in sorted(set(ids), key=str) if ids.count(i) > 1]
    text_ids = labelled(name)
    problems += [f"**{i}.** is labelled {text_ids.count(i)} times in the release text"
                 for i in sorted(set(text_ids)) if text_ids.count(i) > 1]
    problems += [f"the release text labels **{i}.** but RULES has no Rule {i}" for i in text_ids if i not in ids]
    problems += [f"Rule {i} is not labelled **{i}.** in the release text" for i in ids if i not in text_ids]
    problems_fail(problems, f"{name}: the rules in the text and in tests/grading/{name}/rules.py differ")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_rule_quotes_the_release_text(name):
    rules = load(name).RULES
    text = normalise(markdown(name))
    problems = []
    for rule in rules:
        quote = normalise(rule.text)
        if len(quote) < 20:
            problems.append(f"Rule {rule.id}: text {rule.text!r} is too short to be a quote of the rule")
        elif quote not in text:
            problems.append(f"Rule {rule.id}: its text is not in the release notebook's markdown "
                            f"(emphasis, backticks and whitespace aside): {rule.text!r}")
        if not str(rule.check).strip():
            problems.append(f"Rule {rule.id}: `check` is empty (say in one line how its cells check it)")
    problems_fail(problems, f"{name}: rule texts that the release text does not say")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_rule_is_checked_and_every_test_cell_checks_a_rule(name):
    rules = load(name).RULES
    graded = graded_cells(name)
    problems = []
    for rule in rules:
        cells = rule.cells
        if isinstance(cells, str) or not cells:
            problems.append(f"Rule {rule.id}: cells must be a non-empty tuple of grade ids, not {cells!r}")
            continue
        problems += [f"Rule {rule.id}: {c!r} is not a graded test cell (have: {', '.join(sorted(graded))})"
                     for c in cells if c not in graded]
    enforced = {c for rule in rules if not isinstance(rule.cells, str) for c in rule.cells}
    problems += [f"test cell {c} enforces no rule (name it in the cells of the rules it checks)"
                 for c in sorted(graded - enforced)]
    problems_fail(problems, f"{name}: rules without a test cell, or test cells without a rule")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_rule_names_its_id_in_its_cells(name):
    """A failure message names the rule it is about: each rule's id occurs in one of its cells."""
    rules = load(name).RULES
    source = cells_by_id(nbformat.read(notebook_path(name), as_version=4))  # hidden tests included
    problems = []
    for rule in rules:
        cells = [c for c in rule.cells if c in source] if not isinstance(rule.cells, str) else []
        if cells and not any(re.search(rf"\b{re.escape(rule.id)}\b", source[c].source) for c in cells):
            problems.append(f"Rule {rule.id}: none of its cells ({', '.join(cells)}) mentions {rule.id} "
                            f"(a failure message should name the rule it is about)")
    problems_fail(problems, f"{name}: rules whose checks do not name them")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_rule_has_a_mistake_that_loses_its_cells(name):
    rules = load(name).RULES
    cases = {c.name: c for c in grading.cases(name)}
    problems, named = [], set()
    for rule in rules:
        mistakes = rule.mistakes
        if isinstance(mistakes, str) or not mistakes:
            problems.append(f"Rule {rule.id}: no mistake in CASES breaks it (mistakes must be a non-empty tuple of case names)")
            continue
        for m in mistakes:
            named.add(m)
            case = cases.get(m)
            if case is None:
                problems.append(f"Rule {rule.id}: mistake {m!r} is not in tests/grading/{name}/__init__.py CASES")
            elif not set(rule.cells) <= set(case.loses):
                problems.append(f"Rule {rule.id}: mistake {m!r} must lose the rule's cells "
                                f"{sorted(set(rule.cells) - set(case.loses))} too (its `loses` is {sorted(case.loses)})")
    problems += [f"wrong case {c.name!r} (loses {sorted(c.loses)}) is named by no rule's mistakes"
                 for c in cases.values() if c.loses and c.name not in named and not c.rules]
    graded = graded_cells(name)
    problems += [f"case {c.name!r} loses {sorted(set(c.loses) - graded)}, which are not graded test cells"
                 for c in cases.values() if set(c.loses) - graded]
    problems_fail(problems, f"{name}: rules without a biting mistake, or mistakes without a rule")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_mutation_report_has_no_unexplained_survivor(name):
    path = GRADING / name / "MUTATION.md"
    where = path.relative_to(GRADING.parent.parent)
    module = load(name)
    equivalent = getattr(module, "EQUIVALENT_MUTANTS", None)
    problems = []
    if not isinstance(equivalent, dict):
        problems.append("EQUIVALENT_MUTANTS = {mutant key: reason} is missing from rules.py")
        equivalent = {}
    if not path.exists():
        problems.append(f"{where} is missing: run `make mutation A={name}` (a full run) and commit it")
    report = mutation.read_report(path) if path.exists() else {"scope": "full", "solution_sha256": None}
    if report.get("scope") != "full":
        problems.append(f"{where} comes from a partial run ({report.get('scope')}): commit a full run's report")
    current = mutation.solution_sha256(name)
    if path.exists() and report.get("solution_sha256") != current:
        problems.append(f"{where} was made from another reference solution than source/{name} holds now: "
                        f"run `make mutation A={name}` again")
    survivors = report.get("survivors", [])
    problems += [f"surviving mutant not in EQUIVALENT_MUTANTS (kill it with a check, or record why it is "
                 f"equivalent): {key!r}" for key in survivors if key not in equivalent]
    problems += [f"EQUIVALENT_MUTANTS has {key!r}, which is not a survivor in {where} (killed now, or the "
                 f"solution changed): remove it" for key in equivalent if path.exists() and key not in survivors]
    problems += [f"EQUIVALENT_MUTANTS[{key!r}] gives no reason" for key, why in equivalent.items()
                 if not isinstance(why, str) or not why.strip()]
    pending = mutation_pending()
    if name in pending:
        assert problems, f"{name} is listed in {PENDING.name} but its report is complete: remove the line"
        pytest.xfail(f"mutation report pending: {pending[name]}: {len(problems)} problems, e.g. {problems[0]}")
    problems_fail(problems, f"{name}: the mutation report and EQUIVALENT_MUTANTS disagree")


# Assignments whose mutation report is still being worked through, one per line with the
# reason (`name: reason`): their report test is an expected failure, shown in every run's
# summary, and fails once the report is complete so that the line gets removed.
PENDING = GRADING / "MUTATION-PENDING"


def mutation_pending() -> dict:
    return grading.pending(PENDING)


def test_blind_submissions_are_read_as_cases(tmp_path):
    name = "ps2_deadlock"
    rules = {r.id: r.cells for r in grading.rules(name)}
    some = sorted(rules)[:2]
    (tmp_path / "double_release.py").write_text(
        f"# breaks: {some[0]}, {some[1]}\n# why: releases twice\n#  and forgets it\n"
        "# %% tracked_lock\nclass TrackedLock:\n    pass\n\n# %% transfer\ndef transfer():\n    pass\n")
    (tmp_path / "correct.py").write_text("# breaks: none\n# why: right\n# %% transfer\ndef transfer():\n    pass\n")
    wrong, correct = sorted(grading.blind_cases(name, tmp_path), key=lambda c: c.name)[::-1]
    assert wrong.name == "blind_double_release" and wrong.rules == tuple(some)
    assert wrong.loses == frozenset(rules[some[0]]) | frozenset(rules[some[1]])
    assert wrong.solutions == {"tracked_lock": "class TrackedLock:\n    pass\n", "transfer": "def transfer():\n    pass\n"}
    assert wrong.why == "releases twice and forgets it"
    assert correct.name == "blind_correct" and correct.loses == frozenset() and correct.rules == ()
    (tmp_path / "bad.py").write_text("# breaks: Z9\n# %% transfer\npass\n")
    (tmp_path / "headless.py").write_text("def transfer():\n    pass\n")
    assert len(grading.blind_cases(name, tmp_path)) == 2
    problems = grading.blind_problems(name, tmp_path)
    assert len(problems) == 2 and "Z9" in problems[0] and "headless.py" in problems[1], problems


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_blind_submissions_are_well_formed(name):
    problems_fail(grading.blind_problems(name), f"{name}: tests/grading/{name}/blind/ files that are not cases")


def test_grade_record_keys_ignore_what_git_ignores(tmp_path, monkeypatch):
    """The record's key must be the same in a fresh clone: a cache a tool leaves in source/
    (hypothesis writes .hypothesis/ beside a notebook it runs) is not an input."""
    import subprocess

    repo = tmp_path / "repo"
    (repo / "source" / "a").mkdir(parents=True)
    (repo / "source" / "a" / "helper.py").write_text("X = 1\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.setattr(grading, "REPO", repo)
    monkeypatch.setattr(grading, "INPUT_FOLDERS", ())
    monkeypatch.setattr(grading, "INPUT_FILES", ())
    before = grading.inputs_digest("a", {})
    cache = repo / "source" / "a" / ".hypothesis"
    cache.mkdir()
    (cache / ".gitignore").write_text("*\n")
    (cache / "constants").write_text("anything\n")
    assert grading.inputs_digest("a", {}) == before, "a file git ignores changed the key"
    (repo / "source" / "a" / "new.py").write_text("Y = 2\n")
    assert grading.inputs_digest("a", {}) != before, "a new file that git keeps did not change the key"
    (repo / "source" / "a" / "helper.py").write_text("X = 2\n")
    changed = grading.inputs_digest("a", {})
    assert changed != before


def test_the_course_cell_limit_is_the_courses():
    """COURSE_CELL_LIMIT, which a slow case may be graded with, is nbgrader_config.py's cell limit;
    every other limit a case sets is one the suite's LIMITS names; the partly correct case, whose
    feedback the class tests read in the class's own course, has none of its own."""
    config = load_config(grading.REPO)
    assert dict(grading.COURSE_CELL_LIMIT) == {"Execute.timeout": config.Execute.timeout}
    for name in assignments():
        for case in grading.cases(name):
            unknown = set(dict(case.limits)) - set(grading.LIMITS)
            assert not unknown, f"{name} {case.name}: limits {sorted(unknown)} are none the suite sets"
        assert not grading.case(name, grading.module(name).PARTIAL).limits, f"{name}: PARTIAL has limits of its own"
