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
  shows the log of each command in the Formgrader's dialog; its logger is set
  to DEBUG, so an autograde dumped every kernel message and executed cell
  (about 1 100 lines).  A filter keeps INFO and above.
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
        if self._as_released:
            self.log.debug("Cell %s: hidden tests put back", name)
        else:
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


class _InfoAndAbove(logging.Filter):
    def filter(self, record):
        return record.levelno >= logging.INFO


def quiet_api_log() -> None:
    """Keep DEBUG records of nbgrader's API logger out of the Formgrader's dialogs (idempotent)."""
    log = logging.getLogger("NbGraderAPI")
    if not any(isinstance(f, _InfoAndAbove) for f in log.filters):
        log.addFilter(_InfoAndAbove())
