"""nbgrader without its false alarms (nbgrader_config.py installs these).

* ``RestoreTestCells`` replaces nbgrader's OverwriteCells in autograde's
  sanitizing step.  A released test cell lacks its hidden tests, so its
  checksum never matches source/'s, and nbgrader warned "Attribute 'checksum'
  for cell test_part_a has changed!" for every test cell of every submission,
  which reads like tampering.  Now putting the hidden tests back is silent;
  a test cell the student really changed is still restored from source/, and
  reported as such (the summary of ``python -m grader autograde`` lists those
  students).
* ``CourseSubmit`` is nbgrader's submit without the "extra notebooks"
  warning about JupyterLab's ``.ipynb_checkpoints`` copies (nbgrader compares
  every notebook under the folder, even those its ignore list keeps out of the
  submission).
* ``quiet_api_log()``: nbgrader's API (what the Formgrader's buttons call)
  shows the log of each command in the Formgrader's dialog; the Formgrader sets
  its logger to the server's level, DEBUG, so an autograde dumped every kernel
  message and executed cell (about 1 100 lines).  A filter lets DEBUG records
  through only when a console asks for them (``jupyter lab --debug``).
"""
from __future__ import annotations

import logging
import os

from nbformat import NotebookNode

from nbgrader.exchange.default import ExchangeSubmit
from nbgrader.preprocessors import OverwriteCells
from nbgrader.preprocessors.clearhiddentests import ClearHiddenTests
from nbgrader.utils import find_all_files, is_locked

CHANGED = "was changed in the submission"   # the warning's words, which the grading summary looks for


class RestoreTestCells(OverwriteCells):
    def preprocess_cell(self, cell, resources, cell_index):
        self._as_released = False
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id and is_locked(cell):
            try:
                original = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except Exception:  # unknown cell: nbgrader's own code says so
                pass
            else:
                released = NotebookNode(source=original.source)  # as generate_assignment releases it
                ClearHiddenTests()._remove_hidden_test_region(released)
                self._as_released = released.source == cell.source
        return super().preprocess_cell(cell, resources, cell_index)

    def report_change(self, name, attr, old, new):
        if attr != "checksum":
            return super().report_change(name, attr, old, new)
        if not self._as_released:   # else: the hidden tests were put back, as they must be
            self.log.warning("Locked cell %s %s; graded with the original from source/", name, CHANGED)


def sanitize_preprocessors() -> list:
    """nbgrader's autograde sanitizing steps, with RestoreTestCells for OverwriteCells."""
    from nbgrader.converters import Autograde

    default = Autograde.class_traits()["sanitize_preprocessors"].default()
    return [RestoreTestCells if p is OverwriteCells else p for p in default]


def _notebooks(folder: str, ignore: list[str]) -> set[str]:
    return {os.path.relpath(f, folder) for f in find_all_files(folder, ignore) if f.endswith(".ipynb")}


class CourseSubmit(ExchangeSubmit):
    def check_filename_diff(self):
        ignore = list(self.coursedir.ignore)
        released = _notebooks(os.path.abspath(self.release_path), ignore)
        submitted = _notebooks(os.path.abspath(self.src_path), ignore)
        missing, extra = sorted(released - submitted), sorted(submitted - released)
        if not (missing or extra):
            return
        diff = f"missing: {', '.join(missing) or 'none'}; extra: {', '.join(extra) or 'none'}"
        if missing and self.strict:
            self.fail(f"Assignment {self.coursedir.assignment_id} not submitted. "
                      f"There are missing notebooks for the submission ({diff})")
        self.log.warning("Possible missing notebooks and/or extra notebooks submitted for assignment %s (%s)",
                         self.coursedir.assignment_id, diff)


class _DebugOnlyWhenAsked(logging.Filter):
    """Lets DEBUG records through only when one of the logger's own handlers asks for
    them (a console at DEBUG: `jupyter lab --debug`).  The handler nbgrader's API adds
    to capture a command's log for the Formgrader's dialog has no level, and so took
    everything the logger let through."""

    def __init__(self, log: logging.Logger):
        super().__init__()
        self.log = log

    def filter(self, record):
        return record.levelno >= logging.INFO or any(
            0 < h.level <= record.levelno for h in self.log.handlers)


#: The loggers nbgrader's API logs to: in JupyterLab's Formgrader the server's own
#: ("ServerApp"), whose level the Formgrader hands to the API (DEBUG); a stand-alone
#: API object's ("NbGraderAPI", or "traitlets" while it has no parent).
API_LOGGERS = ("ServerApp", "NbGraderAPI", "traitlets")


def quiet_api_log() -> None:
    """Keep DEBUG records out of the Formgrader's dialogs unless asked for (idempotent)."""
    for name in API_LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(f, _DebugOnlyWhenAsked) for f in log.filters):
            log.addFilter(_DebugOnlyWhenAsked(log))
