"""A temporary course with collected submissions, ready to autograde."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

from harness import Course, fill_solutions, write_config
from tools.assignments import ROOT, notebook_path
from tools.settings import COURSE_ID


def collected_course(root: Path, name: str, submissions: dict[str, dict | str], **config) -> Course:
    """Release `name`, let each student submit (solutions dict, or raw notebook text), collect."""
    course = Course(root)
    course.add_source(name)
    course.generate(name)
    course.release(name)
    for student, solutions in submissions.items():
        folder = course.fetch(student, name)
        path = notebook_path(name, folder.parent)
        if isinstance(solutions, str):
            path.write_text(solutions)
        else:
            nbformat.write(fill_solutions(nbformat.read(path, as_version=4), solutions), path)
        course.submit(student, name)
    course.collect(name)
    write_config(root, **config)
    return course


def parallel_autograde(root: Path, name: str, jobs: int = 2, *extra: str, timeout: float = 600):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "grader", "autograde", name, "--root", str(root),
                           "--jobs", str(jobs), *extra], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout)


def cell_grades(root: Path, name: str) -> dict:
    """{(student, grade cell): auto score} from the course's gradebook."""
    from nbgrader.api import Gradebook

    grades = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        for student in gb.students:
            try:
                sub = gb.find_submission(name, student.id)
            except Exception:
                continue
            for nb in sub.notebooks:
                for grade in nb.grades:
                    if grade.auto_score is not None:  # None: the autograde of that student failed
                        grades[(student.id, grade.name)] = grade.auto_score
    return grades


def errors_of(root: Path, name: str, student: str) -> list[str]:
    """The errors in a student's autograded notebook, for assertion messages."""
    folder = root / "autograded" / student / name
    found = [f"tampering: {(folder / 'tampering.json').read_text()[:500]}"] if (folder / "tampering.json").exists() else []
    try:
        nb = nbformat.read(notebook_path(name, root / "autograded" / student), as_version=4)
    except (OSError, FileNotFoundError) as exc:
        return found + [f"no autograded notebook: {exc}"]
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                gid = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
                found.append(f"{gid}: {out.get('ename')}: {str(out.get('evalue'))[:300]}")
    return found
