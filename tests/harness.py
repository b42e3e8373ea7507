"""A throwaway nbgrader course for tests: real configuration, temporary paths.

Everything goes through nbgrader's own Python API and exchange classes (no
CLI start-up cost per call), configured by the course's real
``nbgrader_config.py`` with only the paths moved into a temporary folder.

The one way the tests configure nbgrader: ``moved_paths`` says what a
throwaway course moves, ``course_config`` builds it as a Config (for the
Python API) and ``write_config`` as an ``nbgrader_config.py`` that loads the
course's own (for commands run in that folder: ``python -m grader``,
``nbgrader``, JupyterLab).
"""
from __future__ import annotations

import contextlib
import csv
import fnmatch
import os
import shutil
import sys
from pathlib import Path

import nbformat
from nbgrader.apps.api import NbGraderAPI
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import (
    ExchangeFetchAssignment,
    ExchangeFetchFeedback,
    ExchangeSubmit,
)
from nbgrader.utils import determine_grade, is_grade, is_solution
from nbgrader.validator import Validator
from traitlets.config import Config

from grader.execute import SandboxedExecute, kill_leftovers
from grader.parallel import load_config
from tools.assignments import ROOT, SOURCE, cells_by_id, notebook_path, points_of
from tools.settings import COURSE_ID

# nbgrader runs the `alembic` command to create a gradebook: it must be on PATH
# even when the suite runs as .venv/bin/python without an activated venv.
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")



def moved_paths(root: Path) -> dict[str, dict]:
    """What a throwaway course at `root` changes in the course's configuration: its
    folder, gradebook, exchange, fetched assignments and source/ are all under `root`."""
    return {
        "CourseDirectory": {"root": str(root), "db_url": f"sqlite:///{root / 'gradebook.db'}"},
        "Exchange": {"root": str(root / "exchange"), "assignment_dir": str(root)},
        "SandboxedExecute": {"source_dir": str(root / "source")},
    }


def course_config(root: Path, **sections) -> Config:
    """The course's nbgrader_config.py with its paths moved under `root`, then `sections`
    ({"Section": {"key": value}}) set on top."""
    cfg = load_config(ROOT)
    for changes in (moved_paths(root), sections):
        for section, values in changes.items():
            for key, value in values.items():
                setattr(cfg[section], key, value)
    return cfg


def write_config(root: Path, *, move_paths: bool = True, **overrides) -> Path:
    """Write `root`/nbgrader_config.py: the course's own, loaded as it is, with its paths
    moved under `root` (unless move_paths is False), then `overrides` ("Section.key": value).
    Returns its path."""
    lines = ["# A throwaway copy of the course for the tests (tests/harness.py, write_config).",
             f"load_subconfig({str(ROOT / 'nbgrader_config.py')!r})  # noqa: F821"]
    if move_paths:
        lines += [f"c.{section}.{key} = {value!r}  # noqa: F821"
                  for section, values in moved_paths(root).items() for key, value in values.items()]
    lines += [f"c.{key} = {value!r}  # noqa: F821" for key, value in overrides.items()]
    path = root / "nbgrader_config.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def ignore_patterns() -> list[str]:
    return list(load_config(ROOT).CourseDirectory.ignore)


def copy_assignment(src: Path, dest: Path) -> Path:
    """Copy an assignment folder, leaving out what nbgrader's ignore list names."""
    patterns = ignore_patterns()
    shutil.copytree(src, dest, ignore=lambda d, names: [n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns)])
    return dest


@contextlib.contextmanager
def environ(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def validate(notebook: Path, invert: bool = False) -> dict:
    """nbgrader's Validator (the CLI `nbgrader validate` exits 0 even on failure)."""
    validator = Validator(config=course_config(notebook.parent), invert=invert)
    return validator.validate(str(notebook))


def fill_solutions(nb, solutions: dict[str, str]):
    """A copy of nb whose solution cells hold `solutions` (grade_id -> code)."""
    nb = nbformat.from_dict(nb)
    cells = cells_by_id(nb)
    unknown = set(solutions) - set(cells)
    if unknown:
        raise KeyError(f"no such solution cells: {sorted(unknown)}")
    for gid, source in solutions.items():
        cells[gid].source = source
    return nb


def grade_cells(name: str, solutions: dict[str, str], workdir: Path, env: dict | None = None,
                kernel: str | None = None, sandbox: dict | None = None, keep: list | None = None) -> dict[str, float]:
    """Score a submission the way autograde does, without a gradebook.

    The source notebook (hidden tests included) gets the submitted solution
    cells, runs in a copy of the assignment folder with the preprocessor that
    autograde runs (nbgrader's Execute inside the course's sandbox), and each
    test cell is scored by nbgrader's determine_grade.
    `kernel` names another kernelspec (e.g. one for another Python version);
    `sandbox` sets SandboxedExecute options (e.g. {"as_root": False}); the executed
    notebook is appended to `keep` when given.
    Returns {test grade_id: points earned}.
    """
    folder = copy_assignment(SOURCE / name, workdir / name)
    path = notebook_path(name, workdir)
    nb = fill_solutions(nbformat.read(path, as_version=4), solutions)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    if kernel:
        nb.metadata.kernelspec = {"name": kernel, "display_name": kernel, "language": "python"}
    # the course's own source/ (workdir holds only the copy): its helpers are the shipped ones
    config = course_config(workdir, SandboxedExecute={"source_dir": str(SOURCE)})
    if kernel:  # another interpreter: its own kernelspec, outside the sandbox (which runs this Python)
        config.SandboxedExecute.sandbox = False
    for option, value in (sandbox or {}).items():
        setattr(config.SandboxedExecute, option, value)
    executor = SandboxedExecute(config=config)  # what autograde runs
    tag = f"grade-{os.getpid()}-{id(nb)}"
    try:
        with environ(GRADING_TAG=tag, **(env or {})), contextlib.chdir(folder):
            nb, _ = executor.preprocess(nb, {"metadata": {"path": str(folder)}})
    finally:
        kill_leftovers(tag=tag)  # when the sandbox is off (another interpreter)
    if keep is not None:
        keep.append(nb)
    points = points_of(nb)
    scores = {}
    for gid, cell in cells_by_id(nb).items():
        if gid in points and is_grade(cell) and not is_solution(cell):
            scores[gid] = determine_grade(cell)[0]
    return scores


class Course:
    """A complete course in a temporary folder: instructor side and students."""

    def __init__(self, root: Path):
        self.root = root
        (root / "exchange").mkdir(parents=True, exist_ok=True)
        (root / "source").mkdir(exist_ok=True)

    def config(self, student: str | None = None, **sections) -> Config:
        cfg = course_config(self.root, **sections)
        if student:
            home = self.home(student)
            cfg.Exchange.assignment_dir = str(home)
            cfg.Exchange.cache = str(home / ".nbgrader-cache")
            cfg.CourseDirectory.student_id = student
        return cfg

    def home(self, student: str) -> Path:
        path = self.root / "students" / student
        path.mkdir(parents=True, exist_ok=True)
        return path

    def api(self) -> NbGraderAPI:
        cfg = self.config()
        return NbGraderAPI(CourseDirectory(config=cfg), Authenticator(config=cfg), config=cfg)

    @staticmethod
    def _ok(result: dict, what: str) -> dict:
        assert result.get("success"), f"{what} failed:\n{result.get('error')}\n{result.get('log')}"
        return result

    # --- instructor -------------------------------------------------------
    def add_source(self, name: str) -> None:
        copy_assignment(SOURCE / name, self.root / "source" / name)

    def generate(self, name: str) -> None:
        self._ok(self.api().generate_assignment(name), f"generate_assignment {name}")

    def release(self, name: str) -> None:
        self._ok(self.api().release_assignment(name), f"release_assignment {name}")

    def collect(self, name: str) -> None:
        self._ok(self.api().collect(name), f"collect {name}")

    def autograde(self, name: str, student: str) -> None:
        self._ok(self.api().autograde(name, student), f"autograde {name} {student}")

    def feedback(self, name: str, students: list[str] | None = None) -> None:
        """Generate and release feedback: for `students`, or for everyone graded."""
        api = self.api()
        for student in students or [None]:
            self._ok(api.generate_feedback(name, student), f"generate_feedback {name} {student or ''}")
            self._ok(api.release_feedback(name, student), f"release_feedback {name} {student or ''}")

    def export(self) -> list[dict]:
        """nbgrader's CSV export of the whole gradebook, read back as rows."""
        from nbgrader.api import Gradebook
        from nbgrader.plugins import CsvExportPlugin

        out = self.root / "grades.csv"
        cfg = self.config()
        with Gradebook(cfg.CourseDirectory.db_url, COURSE_ID) as gb:
            CsvExportPlugin(config=cfg, to=str(out)).export(gb)
        with open(out, newline="") as fh:
            return list(csv.DictReader(fh))

    # --- students ---------------------------------------------------------
    def _exchange(self, cls, student: str, name: str):
        cfg = self.config(student)
        cfg.CourseDirectory.assignment_id = name
        app = cls(coursedir=CourseDirectory(config=cfg), authenticator=Authenticator(config=cfg), config=cfg)
        app.start()
        return app

    def fetch(self, student: str, name: str) -> Path:
        self._exchange(ExchangeFetchAssignment, student, name)
        return self.home(student) / name

    def submit(self, student: str, name: str) -> None:
        self._exchange(ExchangeSubmit, student, name)

    def fetch_feedback(self, student: str, name: str) -> Path:
        self._exchange(ExchangeFetchFeedback, student, name)
        return self.home(student) / name / "feedback"

