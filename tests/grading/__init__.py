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

import importlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Case:
    name: str
    solutions: dict          # solution grade_id -> the cell's code
    loses: frozenset = field(default_factory=frozenset)  # test cells that must score 0
    why: str = ""


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
    return list(module(assignment).CASES)


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
