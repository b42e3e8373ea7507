"""The course's settings that several programs read, each defined here once.

nbgrader_config.py, the course's commands (tools/), deploy/ and the tests import
these names; none of them spells a value out again.  What else has one home:

* the assignments: the folders of source/ that hold a notebook
  (``tools.assignments.assignments()``; each one's title is its notebook's first
  heading);
* the files that solution cells write: read from the source notebooks'
  ``%%writefile`` cells (``tools.assignments.written_files()``);
* the sandbox's limits: the traits of ``grader.execute.SandboxedExecute``, and the
  cell timeout in nbgrader_config.py (README's table is checked against both by
  tests/test_docs.py);
* the configuration of a throwaway test course: ``tests/harness.py``.

Importing this module is cheap (no nbgrader, no nbformat): ``make lab`` reads it at
every start.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: nbgrader's course id: the exchange's folder, the hub's groups and service.
COURSE_ID = "pyconc"

# Environment variables that move the course's outputs (README, "A shared exchange
# for a multi-user server").  Read only through the functions below.
EXCHANGE_VAR = "COURSE_EXCHANGE"        # folder used as nbgrader's exchange
GRADEBOOK_VAR = "COURSE_GRADEBOOK_URL"  # SQLAlchemy URL of the gradebook
WORKSPACE_VAR = "COURSE_WORKSPACE"      # where students' fetched assignments land
MOVABLE = (EXCHANGE_VAR, GRADEBOOK_VAR, WORKSPACE_VAR)


def exchange_root(root: Path = ROOT) -> Path:
    """The exchange: $COURSE_EXCHANGE, else exchange/ in the course folder."""
    return Path(os.environ.get(EXCHANGE_VAR) or root / "exchange")


def gradebook_url(root: Path = ROOT) -> str:
    """The gradebook: $COURSE_GRADEBOOK_URL, else gradebook.db (SQLite) in the course folder."""
    return os.environ.get(GRADEBOOK_VAR) or f"sqlite:///{root / 'gradebook.db'}"


def workspace(root: Path = ROOT) -> Path:
    """Where fetched assignments land: $COURSE_WORKSPACE, else workspace/ in the course folder."""
    return Path(os.environ.get(WORKSPACE_VAR) or root / "workspace")
