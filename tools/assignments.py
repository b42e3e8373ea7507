"""Assignments: generate release/ from source/, and read a notebook's parts.

    python -m tools.assignments generate [NAME ...]   # source/NAME -> release/NAME (all by default)
    python -m tools.assignments list

`generate` is nbgrader's own ``generate_assignment --force``; it also records
the assignment in the gradebook.  The helpers below are used by the test
suite and the benchmarks to find an assignment's reference solution.

This module is the home of the assignment list: an assignment is a folder of
source/ that holds exactly one notebook (``assignments()``), and its title is
that notebook's first ``# `` heading (``title()``).  tools/nav.py, the
Makefile's ``make help`` and the tests read the list from here; README's
tables are checked against it (tests/test_docs.py).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source"
RELEASE = ROOT / "release"

SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
HIDDEN_MARKERS = re.compile(r"^\s*### (BEGIN|END) HIDDEN TESTS\s*$")


def assignments(source: Path = SOURCE) -> list[str]:
    """Every assignment in source/: a folder holding a notebook (exactly one: notebook_path)."""
    if not source.is_dir():
        return []
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def _cells(path: Path) -> list[dict]:
    """A notebook's cells, read as plain JSON (fast enough for nbgrader_config.py)."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh).get("cells", [])


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def title(name: str, source: Path = SOURCE) -> str:
    """An assignment's title: its notebook's first ``# `` heading, after "Problem set N: "."""
    for cell in _cells(notebook_path(name, source)):
        if cell.get("cell_type") == "markdown":
            for line in _text(cell).splitlines():
                if line.startswith("# "):
                    return line[2:].strip().split(": ", 1)[-1]
    raise LookupError(f"{notebook_path(name, source)} has no '# ' title heading")


def written_files(source: Path = SOURCE) -> list[str]:
    """The files that solution cells write, in every assignment: the NAME of each solution
    cell that begins with ``%%writefile NAME``.  Validating source/ writes them into the
    assignment's folder, so nbgrader must never ship them (nbgrader_config.py puts them
    in ``CourseDirectory.ignore``) and git must ignore them (.gitignore)."""
    found = set()
    for name in assignments(source):
        for path in sorted((source / name).glob("*.ipynb")):
            try:
                cells = _cells(path)
            except (OSError, ValueError):  # a broken notebook: generate and the tests say so
                continue
            for cell in cells:
                words = _text(cell).split("\n", 1)[0].split()
                if nbgrader_meta(cell).get("solution") and words[:1] == ["%%writefile"]:
                    found.add(words[-1])
    return sorted(found)


def notebook_path(name: str, where: Path = SOURCE) -> Path:
    found = sorted((where / name).glob("*.ipynb"))
    if len(found) != 1:
        raise FileNotFoundError(f"{where / name} should hold exactly one notebook, found {len(found)}")
    return found[0]


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def cells_by_id(nb) -> dict:
    return {nbgrader_meta(c)["grade_id"]: c for c in nb.cells if nbgrader_meta(c).get("grade_id")}


def solution_ids(nb) -> list[str]:
    return [gid for gid, c in cells_by_id(nb).items() if nbgrader_meta(c).get("solution")]


def points_of(nb) -> dict[str, float]:
    """{grade_id: points} of the autograded test cells."""
    return {
        gid: float(nbgrader_meta(c)["points"])
        for gid, c in cells_by_id(nb).items()
        if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution") and c.cell_type == "code"
    }


def without_markers(source: str) -> str:
    """A solution cell as a student would write it: the SOLUTION marker lines removed."""
    return "\n".join(line for line in source.splitlines() if not SOLUTION_MARKERS.match(line))


def marked_regions(source: str, markers: re.Pattern) -> list[str]:
    """The lines strictly inside each BEGIN/END pair of `markers`."""
    inside, lines = False, []
    for line in source.splitlines():
        m = markers.match(line)
        if m:
            inside = m.group(1) == "BEGIN"
            continue
        if inside:
            lines.append(line)
    return lines


def reference_solutions(name: str) -> dict[str, str]:
    """{grade_id: source} of the reference solution cells, markers removed."""
    nb = nbformat.read(notebook_path(name), as_version=4)
    cells = cells_by_id(nb)
    return {gid: without_markers(cells[gid].source) for gid in solution_ids(nb)}


def writefile_module(name: str, module: str) -> str:
    """The text a reference `%%writefile <module>` cell writes (markers removed)."""
    for source in reference_solutions(name).values():
        first, _, body = source.partition("\n")
        if first.split()[:2] == ["%%writefile", module]:
            return body + "\n"
    raise LookupError(f"no %%writefile {module} cell in {name}")


def generate(names: list[str], root: Path = ROOT) -> None:
    """nbgrader's ``generate_assignment --force`` for each name, then :func:`open_clean` on the release.

    The released notebooks get the kernelspec and language_info JupyterLab writes
    when a student opens them, so opening one does not mark it modified.
    """
    nbgrader = [sys.executable, "-m", "nbgrader"]
    # nbgrader creates a new gradebook by running `alembic`, found on PATH
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    for name in names or assignments():
        print(f"generate_assignment {name}", flush=True)
        subprocess.run([*nbgrader, "generate_assignment", name, "--force"], cwd=root, env=env, check=True)
        for path in sorted((root / "release" / name).glob("*.ipynb")):
            open_clean(path)


def open_clean(path: Path) -> None:
    """Store in the notebook at ``path`` the metadata JupyterLab writes on opening it."""
    from tools.run_notebooks import set_lab_metadata

    nb = nbformat.read(path, as_version=4)
    set_lab_metadata(nb)
    nbformat.write(nb, path)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"generate", "list"}:
        print(__doc__)
        return 2
    if argv[0] == "list":
        print("\n".join(assignments()))
        return 0
    unknown = [a for a in argv[1:] if a not in assignments()]
    if unknown:
        print(f"no such assignment in source/: {', '.join(unknown)} (have: {', '.join(assignments())})")
        return 2
    generate(argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
