"""Write the navigation bar of every course notebook, and the Index notebook.

    python -m tools.nav          # rewrite navigation cells and course/Index.ipynb
    python -m tools.nav --check  # exit 1 if anything is out of date (used by the tests)

Course notebooks are named ``NN-Title.ipynb`` or ``NN.MM-Title.ipynb`` and are
read in name order; ``NN`` is the part (00 welcome, 01-04 the four parts of the
lectures, 99 the glossary).  Each notebook's first and last cells are
navigation cells that begin with ``<!--NAVIGATION-->``; this script finds them
by that marker (or inserts them) and rewrites them, so running it twice
changes nothing.  Titles come from each notebook's first ``# `` heading.

The Index also lists the assignments: every one in source/, with its title
(tools.assignments: ``assignments()`` and ``title()``).  Run this again after
adding, removing or renaming an assignment.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from tools import assignments

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"
MARKER = "<!--NAVIGATION-->"
INDEX = "Index.ipynb"
NAME = re.compile(r"^(\d\d)(?:\.(\d\d))?-.+\.ipynb$")
PARTS = {
    "00": "Start here",
    "01": "Part I: processes, threads, coroutines and the GIL",
    "02": "Part II: inter-process communication, synchronisation, deadlock",
    "03": "Part III: coroutines, gevent and asyncio",
    "04": "Part IV: the web path",
    "99": "Reference",
}


def notebooks(course: Path = COURSE) -> list[Path]:
    return sorted(p for p in course.glob("*.ipynb") if NAME.match(p.name))


def title_of(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type != "markdown" or cell.source.startswith(MARKER):
            continue
        for line in cell.source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return "(untitled)"


def nav_text(prev: tuple[str, str] | None, nxt: tuple[str, str] | None) -> str:
    left = f"< [{prev[1]}]({prev[0]}) | " if prev else ""
    right = f" | [{nxt[1]}]({nxt[0]}) >" if nxt else ""
    return f"{MARKER}\n{left}[Contents]({INDEX}){right}"


def set_nav(nb, text: str) -> None:
    cells = nb.cells
    for position in (0, -1):
        if cells and cells[position].cell_type == "markdown" and cells[position].source.startswith(MARKER):
            cells[position].source = text
        else:
            cell = nbformat.v4.new_markdown_cell(text)
            if position == 0:
                cells.insert(0, cell)
            else:
                cells.append(cell)


def index_notebook(entries: list[tuple[str, str]]):
    lines = [
        "# Python concurrency, hands-on: contents",
        "",
        "Open a lecture, then use *Run > Run All Cells*: every claim is backed by a cell "
        "that runs on your machine. Lectures come in four parts; the assignments are "
        "fetched from the *Assignment List* (see the welcome notebook).",
    ]
    part = None
    for name, title in entries:
        key = name[:2]
        if key != part:
            part = key
            lines += ["", f"## {PARTS.get(key, 'Part ' + key)}", ""]
        lines.append(f"- [{title}]({name})")
    lines += ["", "## Assignments (nbgrader)", ""]
    lines += [f"- **{a}**: {assignments.title(a)}" for a in assignments.assignments()]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("\n".join(lines))]
    return nb


def build(course: Path = COURSE) -> dict[Path, str]:
    """Return {path: new JSON text} for every file this script owns.

    Every notebook also gets the ``kernelspec`` and ``language_info`` that
    JupyterLab writes on opening it (``tools.run_notebooks.lab_metadata``), so
    that opening a notebook does not mark it modified.
    """
    from tools.run_notebooks import lab_metadata

    meta = lab_metadata()
    paths = notebooks(course)
    loaded = {p: nbformat.read(p, as_version=4) for p in paths}
    entries = [(p.name, title_of(loaded[p])) for p in paths]
    out = {}
    for i, p in enumerate(paths):
        nb = loaded[p]
        prev = entries[i - 1] if i > 0 else None
        nxt = entries[i + 1] if i + 1 < len(entries) else None
        set_nav(nb, nav_text(prev, nxt))
        nb.metadata.update(meta)
        out[p] = nbformat.writes(nb) + "\n"
    index = index_notebook(entries)
    index.metadata.update(meta)
    old = course / INDEX
    if old.exists():  # keep cell ids stable so re-running changes nothing
        previous = nbformat.read(old, as_version=4)
        for new_cell, old_cell in zip(index.cells, previous.cells):
            new_cell["id"] = old_cell.get("id", new_cell.get("id"))
    out[old] = nbformat.writes(index) + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rewrite course navigation and the Index notebook.")
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, text in build().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print("out of date (run `python -m tools.nav`):", *[p.name for p in stale], sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
